// SPDX-License-Identifier: BSD-3-Clause
// check, second half: the deployment as it will run. Every file is opened
// by a child process that has become the user who opens it in production
// (the web server's user for the CGI, the broker's for zendesk-sso-authd),
// and the broker is asked for a ping over its socket as the web server's
// user. Each problem comes with the command that fixes it. The host's clock
// too: Zendesk's window is 3 minutes.
#include "check_deployment.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "check_webauthn.hpp"
#include "http.hpp"
#include "store.hpp"
#include "login.hpp"
#include "zsso/clock.hpp"
#include "zsso/files.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso::cli {

namespace {

namespace fs = std::filesystem;

// The admin guide's command for the broker's webauthn.conf drop-in (a link: upgrades update it).
constexpr const char* kLinkWebauthnDropIn =
    "mkdir -p /etc/systemd/system/zendesk-sso-authd.service.d && ln -s "
    "/usr/share/zendesk-sso/systemd/zendesk-sso-authd.service.d/webauthn.conf "
    "/etc/systemd/system/zendesk-sso-authd.service.d/ && systemctl daemon-reload && systemctl restart "
    "zendesk-sso-authd.service";

constexpr const char* kUnitDirs[] = {"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string group_name(gid_t gid) {
  if (const group* g = ::getgrgid(gid)) return g->gr_name;
  return std::to_string(gid);
}

std::string user_name(uid_t uid) {
  if (const passwd* p = ::getpwuid(uid)) return p->pw_name;
  return std::to_string(uid);
}

// A user as a service runs it: uid, primary group, the groups initgroups()
// gives it, plus the unit's SupplementaryGroups.
Result<Account> find_account(const std::string& name, const std::vector<std::string>& extra_groups,
                             std::string source) {
  const passwd* pw = ::getpwnam(name.c_str());
  if (!pw) return Error{"user \"" + name + "\" (" + source + ") does not exist"};
  Account a;
  a.name = pw->pw_name;
  a.uid = pw->pw_uid;
  a.gid = pw->pw_gid;
  a.source = std::move(source);
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  while (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) < 0) groups.resize(static_cast<std::size_t>(n));
  groups.resize(static_cast<std::size_t>(n));
  for (const auto& g : extra_groups) {
    const group* gr = ::getgrnam(g.c_str());
    if (!gr) return Error{"group \"" + g + "\" (" + a.source + ") does not exist"};
    groups.push_back(gr->gr_gid);
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  a.groups = std::move(groups);
  a.group = group_name(a.gid);
  return a;
}

// KEY=value lines of a systemd unit and its drop-ins (later ones win; an
// empty SupplementaryGroups= resets the list).
struct UnitSettings {
  std::string path;
  std::string user;
  std::vector<std::string> supplementary_groups;
  std::string socket_group;
  std::string socket_mode;
  bool protect_system_strict = false;
  std::vector<std::string> writable;   // ReadWritePaths=, and StateDirectory= etc. as the folders they make
};

void read_unit_file(const std::string& path, UnitSettings& u) {
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line.empty() || line[0] == '#' || line[0] == ';') continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "User") u.user = value;
    else if (key == "SocketGroup") u.socket_group = value;
    else if (key == "SocketMode") u.socket_mode = value;
    else if (key == "SupplementaryGroups") {
      if (value.empty()) u.supplementary_groups.clear();
      std::istringstream words(value);
      for (std::string w; words >> w;) u.supplementary_groups.push_back(w);
    } else if (key == "ProtectSystem") {
      u.protect_system_strict = value == "strict";
    } else {
      // The folders a ProtectSystem=strict unit may still write ("-": may be missing).
      static const std::pair<const char*, const char*> kWritable[] = {
          {"ReadWritePaths", ""}, {"StateDirectory", "/var/lib/"}, {"RuntimeDirectory", "/run/"},
          {"CacheDirectory", "/var/cache/"}, {"LogsDirectory", "/var/log/"}};
      for (const auto& [name, root] : kWritable)
        if (key == name) {
          std::istringstream words(value);
          for (std::string w; words >> w;) {
            if (!w.empty() && (w[0] == '-' || w[0] == '+')) w.erase(0, 1);
            u.writable.push_back(root + w.substr(0, w.find(':')));   // StateDirectory=a:b names a link b
          }
        }
    }
  }
}

std::optional<UnitSettings> find_unit(const std::string& name) {
  for (const char* dir : kUnitDirs) {
    std::string path = std::string(dir) + "/" + name;
    if (!fs::exists(path)) continue;
    UnitSettings u;
    u.path = path;
    read_unit_file(path, u);
    std::error_code ec;
    std::vector<std::string> dropins;
    for (const char* d : kUnitDirs)
      for (const auto& e : fs::directory_iterator(std::string(d) + "/" + name + ".d", ec))
        if (e.path().extension() == ".conf") dropins.push_back(e.path().string());
    std::sort(dropins.begin(), dropins.end(),
              [](const std::string& a, const std::string& b) { return fs::path(a).filename() < fs::path(b).filename(); });
    for (const auto& d : dropins) read_unit_file(d, u);
    return u;
  }
  return std::nullopt;
}

std::string first_match(const std::string& text, const std::regex& re) {
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : std::string();
}

bool mentions_zendesk_sso(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (read_text(e.path().string()).find("zendesk-sso") != std::string::npos) return true;
  return false;
}

// The web server that serves our CGI: Apache with our conf enabled (its
// envvars), nginx with a site naming us (fcgiwrap's unit runs the CGI);
// else whichever is installed, Apache first.
std::optional<std::pair<std::string, std::string>> discover_web_user(const std::string& apache_dir,
                                                                     const std::string& nginx_dir) {
  const std::string envvars = apache_dir + "/envvars";
  auto apache = [&]() -> std::optional<std::pair<std::string, std::string>> {
    std::string user = first_match(read_text(envvars),
                                   std::regex(R"((?:^|\n)\s*export\s+APACHE_RUN_USER=["']?([A-Za-z0-9._-]+))"));
    if (user.empty()) return std::nullopt;
    return std::pair{user, envvars};
  };
  auto nginx = [&]() -> std::optional<std::pair<std::string, std::string>> {
    if (auto u = find_unit("fcgiwrap.service"); u && !u->user.empty()) return std::pair{u->user, u->path};
    std::string conf = nginx_dir + "/nginx.conf";
    std::string user = first_match(read_text(conf), std::regex(R"((?:^|\n)\s*user\s+([A-Za-z0-9._-]+))"));
    if (user.empty()) return std::nullopt;
    return std::pair{user, conf};
  };
  if (fs::exists(apache_dir + "/conf-enabled/zendesk-sso.conf") || mentions_zendesk_sso(apache_dir + "/sites-enabled"))
    if (auto a = apache()) return a;
  if (mentions_zendesk_sso(nginx_dir + "/sites-enabled") || mentions_zendesk_sso(nginx_dir + "/conf.d"))
    if (auto n = nginx()) return n;
  if (auto a = apache()) return a;
  return nginx();
}

// Runs fn in a child that has become `who` (groups, gid, uid, in that order)
// and returns what fn returned: "" for success, else the reason.
std::string as_user(const Account& who, const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "pipe: " + errno_text(errno);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return "fork: " + errno_text(errno);
  }
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    if (::setgroups(who.groups.size(), who.groups.data()) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)
      out = "cannot become " + who.name + ": " + errno_text(errno);
    else
      out = fn();
    if (out.empty()) out = "\x01";  // success marker: an empty pipe means the child died
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::write(p[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out.empty()) return "the check as " + who.name + " died";
  return out == "\x01" ? std::string() : out;
}

bool in_groups(const Account& a, gid_t g) { return std::find(a.groups.begin(), a.groups.end(), g) != a.groups.end(); }

std::string describe_file(const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return user_name(st.st_uid) + ":" + group_name(st.st_gid) + " " + mode;
}

// Where the running web server should answer for the CGI: always
// 127.0.0.1 (the Host name only through CURLOPT_RESOLVE, pinned to it), at
// the port and path of the enabled conf.
struct WebTarget {
  std::string server;      // "Apache" / "nginx"
  std::string conf;        // the file that told us
  std::string host = "127.0.0.1";
  bool tls = false;
  int port = 80;
  std::string path = "/zendesk";
  std::string url() const {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port) + path + "/health";
  }
};

int port_or(const std::string& digits, int fallback) {
  if (digits.empty() || digits.size() > 5) return fallback;
  int p = std::stoi(digits);
  return p > 0 && p < 65536 ? p : fallback;
}

std::optional<WebTarget> apache_target(const std::string& dir) {
  std::regex alias(R"((?:^|\n)[ \t]*ScriptAlias[ \t]+(/[^ \t\n]*?)/?[ \t]+"?[^\n]*zendesk-sso\.cgi)", std::regex::icase);
  WebTarget t;
  t.server = "Apache";
  t.conf = dir + "/conf-enabled/zendesk-sso.conf";
  std::string text = read_text(t.conf);
  std::error_code ec;
  if (text.empty())
    for (const auto& e : fs::directory_iterator(dir + "/sites-enabled", ec))
      if (std::string site = read_text(e.path().string()); std::regex_search(site, alias)) {
        t.conf = e.path().string();
        text = site;
        break;
      }
  if (text.empty()) return std::nullopt;
  if (auto p = first_match(text, alias); !p.empty()) t.path = p;
  // HTTPS when a TLS site is enabled (the conf is global: every vhost serves it).
  std::regex ssl_on(R"((?:^|\n)\s*SSLEngine\s+on)", std::regex::icase);
  if (fs::exists(dir + "/mods-enabled/ssl.load"))
    for (const auto& e : fs::directory_iterator(dir + "/sites-enabled", ec))
      if (std::string site = read_text(e.path().string()); std::regex_search(site, ssl_on)) {
        t.tls = true;
        t.port = port_or(first_match(site, std::regex(R"(<VirtualHost[^>]*:(\d+)\s*>)", std::regex::icase)), 443);
        return t;
      }
  // Plain HTTP: the first Listen of ports.conf (Debian: Listen 80).
  t.port = port_or(first_match(read_text(dir + "/ports.conf"),
                               std::regex(R"((?:^|\n)[ \t]*Listen[ \t]+(?:\S*:)?(\d+)[ \t]*(?:\n|$))",
                                          std::regex::icase)),
                   80);
  return t;
}

std::optional<WebTarget> nginx_target(const std::string& dir) {
  std::error_code ec;
  for (const char* sub : {"/sites-enabled", "/conf.d"})
    for (const auto& e : fs::directory_iterator(dir + sub, ec)) {
      std::string text = read_text(e.path().string());
      if (text.find("zendesk-sso") == std::string::npos) continue;
      std::smatch m;
      WebTarget t;
      t.server = "nginx";
      t.conf = e.path().string();
      if (std::regex_search(text, m, std::regex(R"((?:^|\n)\s*listen\s+(?:\S*:)?(\d+)([^;\n]*);)"))) {
        t.port = port_or(m[1].str(), 80);
        t.tls = std::regex_search(m[2].str(), std::regex(R"(\bssl\b)"));
      }
      std::string name = first_match(text, std::regex(R"((?:^|\n)\s*server_name\s+([A-Za-z0-9.-]+)[\s;])"));
      if (!name.empty() && name.find('.') != std::string::npos) t.host = name;
      std::string split = first_match(read_text(dir + "/snippets/zendesk-sso.conf"),
                                      std::regex(R"(fastcgi_split_path_info\s+\(\?s\)\^\((/[^)]*)\))"));
      if (!split.empty()) t.path = split;
      return t;
    }
  return std::nullopt;
}

// The names browsers reach the sign-in page by, as the web server's config
// gives them: nginx's server_name (the site serving zendesk-sso), Apache's
// ServerName in the enabled sites. Each with the file that said so.
std::vector<std::pair<std::string, std::string>> signin_host_names(const std::string& apache_dir,
                                                                   const std::string& nginx_dir) {
  std::vector<std::pair<std::string, std::string>> names;
  if (auto t = nginx_target(nginx_dir); t && t->host != "127.0.0.1") names.emplace_back(ascii_lower(t->host), t->conf);
  std::error_code ec;
  if (fs::exists(apache_dir + "/conf-enabled/zendesk-sso.conf") || mentions_zendesk_sso(apache_dir + "/sites-enabled"))
    for (const auto& e : fs::directory_iterator(apache_dir + "/sites-enabled", ec)) {
      std::string name = first_match(read_text(e.path().string()),
                                     std::regex(R"((?:^|\n)\s*ServerName\s+(?:https?://)?([A-Za-z0-9.-]+))",
                                                std::regex::icase));
      if (name.find('.') != std::string::npos || name == "localhost")
        names.emplace_back(ascii_lower(name), e.path().string());
    }
  return names;
}

class Deployment {
 public:
  Deployment(const std::vector<Config>& all, const std::string& config_path, const DeploymentOptions& opt,
             CheckReport& report)
      : all_(all), config_path_(config_path), opt_(opt), r_(report) {}

  void run();

 private:
  const std::vector<Config>& all_;
  const std::string& config_path_;
  const DeploymentOptions& opt_;
  CheckReport& r_;
  std::optional<Account> web_, broker_;
  std::optional<UnitSettings> service_unit_, socket_unit_;

  bool broker_mode() const { return !all_.front().broker.socket.empty(); }
  void problem(std::string what, std::string fix) {
    r_.problems.push_back(fix.empty() ? std::move(what) : std::move(what) + "\n  fix: " + std::move(fix));
  }
  void find_users();
  void check_opens(const Account& who, const std::string& role);
  void check_secret_rule(const Config& c, const std::string& who_prefix, const Account& reader, const std::string& role);
  void check_peers();
  bool check_socket();
  void check_ping();
  void check_https();
  void check_https_nginx();
  void check_web_server();
  void check_clock();
  void check_key_store(const Config& c, const std::string& prefix);
  void check_signin_host(const Config& c, const std::string& prefix);
};

void Deployment::find_users() {
  // The web server's user: given, or from Apache's envvars / fcgiwrap's unit / nginx.conf.
  std::string name = opt_.web_user, source = "--web-user";
  if (name.empty()) {
    if (auto found = discover_web_user(opt_.apache_dir, opt_.nginx_dir)) std::tie(name, source) = *found;
  }
  if (name.empty()) {
    r_.problems.push_back("cannot tell which user the web server runs the CGI as (no " + opt_.apache_dir +
                          "/envvars, fcgiwrap unit or nginx.conf user)\n  fix: zendesk-sso check --web-user USER");
  } else if (auto a = find_account(name, {}, source)) {
    web_ = std::move(*a);
  } else {
    problem("web server: " + a.error(), "zendesk-sso check --web-user USER");
  }
  if (!broker_mode()) return;
  // The warm daemon (Accept=no) or the per-connection template (Accept=yes).
  service_unit_ = find_unit("zendesk-sso-authd.service");
  if (!service_unit_) service_unit_ = find_unit("zendesk-sso-authd@.service");
  socket_unit_ = find_unit("zendesk-sso-authd.socket");
  name = opt_.broker_user;
  source = "--broker-user";
  std::vector<std::string> extra = opt_.broker_groups;
  if (name.empty() && service_unit_ && !service_unit_->user.empty()) {
    name = service_unit_->user;
    source = service_unit_->path;
    extra = service_unit_->supplementary_groups;
  }
  if (name.empty()) {
    r_.problems.push_back("cannot tell which user the broker runs as (no User= in a zendesk-sso-authd.service or "
                          "zendesk-sso-authd@.service)"
                          "\n  fix: zendesk-sso check --broker-user USER [--broker-groups GROUP,...]");
    return;
  }
  if (auto a = find_account(name, extra, source)) broker_ = std::move(*a);
  else problem("broker: " + a.error(), "zendesk-sso check --broker-user USER");
}

// The config and the secret, each opened by the code that opens it in
// production, as the user who opens it.
void Deployment::check_opens(const Account& who, const std::string& role) {
  const bool is_web = role == "web server";
  std::string err = as_user(who, [&] {
    auto c = load_config(config_path_);
    return c ? std::string() : c.error();
  });
  if (!err.empty()) {
    problem("as " + who.name + " (" + role + "): " + err,
            "chmod 0644 " + config_path_ + " && chmod 0755 " + fs::path(config_path_).parent_path().string());
    return;
  }
  std::set<std::string> seen;
  for (const auto& c : all_) {
    std::string prefix = c.profile.empty() ? "" : "profile " + c.profile + ": ";
    // The secret: the broker's in broker mode, the web server's in direct mode.
    if (is_web != broker_mode() && seen.insert(c.zendesk.secret_file).second) {
      err = as_user(who, [&] {
        auto s = load_secret_file(c.zendesk.secret_file);
        return s ? std::string() : s.error();
      });
      if (!err.empty())
        problem(prefix + "zendesk.secret_file: as " + who.name + " (" + role + "): " + err,
                secret_file_fix(c.zendesk.secret_file, err, who.group,
                                paste_command(c.zendesk.secret_file, "the shared secret from Zendesk")));
      else
        check_secret_rule(c, prefix, who, role);
    }
    if (is_web && broker_mode() && seen.insert("web:" + c.zendesk.secret_file).second) {
      err = as_user(who, [&] {
        auto s = load_secret_file(c.zendesk.secret_file);
        return s ? std::string() : s.error();
      });
      if (err.empty())
        problem(prefix + "zendesk.secret_file: " + c.zendesk.secret_file + " is readable by the web server's user " +
                    who.name + "; in broker mode only the broker may read it",
                broker_ ? "chown root:" + broker_->group + " " + c.zendesk.secret_file + " && chmod 0640 " +
                              c.zendesk.secret_file
                        : std::string());
    }
  }
}

// The one rule for a secret file: root:GROUP 0640, GROUP being the group of
// the one user that reads it (the broker's in broker mode, the web server's
// in direct mode).
void Deployment::check_secret_rule(const Config& c, const std::string& prefix, const Account& reader,
                                   const std::string& role) {
  struct stat st {};
  if (::stat(c.zendesk.secret_file.c_str(), &st) != 0) return;
  if (st.st_uid == 0 && st.st_gid == reader.gid && (st.st_mode & 07777) == 0640) return;
  problem(prefix + "zendesk.secret_file: " + c.zendesk.secret_file + " is " + describe_file(st) + "; the rule is root:" +
              reader.group + " 0640 (read by the " + role + "'s user " + reader.name + " only)",
          "chown root:" + reader.group + " " + c.zendesk.secret_file + " && chmod 0640 " + c.zendesk.secret_file);
}

void Deployment::check_peers() {
  const auto& peers = all_.front().broker.allowed_peers;
  bool web_allowed = false;
  for (const auto& p : peers) {
    if (!p.empty() && p[0] == '@') {
      const group* g = ::getgrnam(p.c_str() + 1);
      if (!g) {
        problem("broker.allowed_peers: \"" + p + "\" names no group on this host", "edit " + config_path_);
        continue;
      }
      if (web_ && (web_->gid == g->gr_gid || in_groups(*web_, g->gr_gid))) web_allowed = true;
    } else {
      const passwd* pw = ::getpwnam(p.c_str());
      if (!pw) {
        problem("broker.allowed_peers: \"" + p + "\" is not a user on this host", "edit " + config_path_);
        continue;
      }
      if (web_ && pw->pw_uid == web_->uid) web_allowed = true;
    }
  }
  if (web_ && !web_allowed)
    problem("broker.allowed_peers " + std::string(peers.empty() ? "is empty" : "does not include") +
                " the web server's user " + web_->name + " (" + web_->source + "): the broker will refuse every sign-in",
            "edit " + config_path_ + ": \"allowed_peers\": [\"" + web_->name + "\"]");
}

// The socket exists and the web server's user may connect to it.
bool Deployment::check_socket() {
  const std::string& path = all_.front().broker.socket;
  std::string start = socket_unit_ ? "systemctl enable --now zendesk-sso-authd.socket"
                                   : "start the broker: zendesk-sso-authd --listen " + path +
                                         " (see zendesk-sso-authd(8))";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    problem("broker.socket: " + path + ": " + errno_text(errno) + ": the broker is not listening", start);
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) {
    problem("broker.socket: " + path + " is not a socket", "");
    return false;
  }
  if (!web_) return true;
  bool can_write = (st.st_uid == web_->uid && (st.st_mode & S_IWUSR)) ||
                   ((st.st_gid == web_->gid || in_groups(*web_, st.st_gid)) && (st.st_mode & S_IWGRP)) ||
                   (st.st_mode & S_IWOTH);
  if (!can_write) {
    std::string fix = socket_unit_ ? "systemctl edit zendesk-sso-authd.socket: [Socket] SocketGroup=" + web_->group +
                                         " SocketMode=0660, then systemctl restart zendesk-sso-authd.socket"
                                   : "restart the broker with --socket-group " + web_->group + " --socket-mode 0660";
    problem("broker.socket: " + path + " is " + describe_file(st) + ": the web server's user " + web_->name +
                " may not connect to it",
            fix);
    return false;
  }
  return true;
}

// A no-op request through the broker, from the web server's user: the same
// socket, peer check and config a sign-in goes through, without PAM.
void Deployment::check_ping() {
  const Config& cfg = all_.front();
  std::string err = as_user(*web_, [&] {
    auto pong = broker_ping(cfg);
    return pong ? std::string() : pong.error();
  });
  if (err.empty()) {
    r_.passed.push_back("the broker answered a ping from " + web_->name);
    return;
  }
  std::string fix;
  if (err.find("peer not in broker.allowed_peers") != std::string::npos) {
    // Say what happened, not the wire's words.
    problem("broker: the broker refused " + web_->name + " (the web server's user): not in broker.allowed_peers of "
                "the config it reads",
            "add \"" + web_->name + "\" to broker.allowed_peers in the broker's config " + config_path_);
    return;
  } else if (err.find("cannot load its configuration") != std::string::npos)
    fix = "see the broker's log (journalctl -t zendesk-sso-authd), and check the config as its user: "
          "runuser -u " + (broker_ ? broker_->name : std::string("zendesk-sso")) + " -- zendesk-sso check --config-only";
  else if (err.find("connect:") != std::string::npos)
    fix = socket_unit_ ? "systemctl restart zendesk-sso-authd.socket; journalctl -u 'zendesk-sso-authd*'"
                       : "restart zendesk-sso-authd --listen " + cfg.broker.socket;
  problem("broker: no answer to a ping as the web server's user " + web_->name + ": " + err, fix);
}

// The password form over plain HTTP is the trap: warn when no HTTPS site
// would serve it.
void Deployment::check_https() {
  check_https_nginx();
  const std::string& dir = opt_.apache_dir;
  if (!fs::exists(dir + "/conf-enabled/zendesk-sso.conf")) return;
  std::error_code ec;
  bool ssl_site = false;
  std::regex ssl_on(R"((?:^|\n)\s*SSLEngine\s+on)", std::regex::icase);
  for (const auto& e : fs::directory_iterator(dir + "/sites-enabled", ec))
    if (std::regex_search(read_text(e.path().string()), ssl_on)) ssl_site = true;
  bool ssl_module = fs::exists(dir + "/mods-enabled/ssl.load");
  if (ssl_site && ssl_module) return;
  r_.warnings.push_back(
      "Apache serves /zendesk/login over plain HTTP only (" +
      std::string(!ssl_module ? "mod_ssl is not enabled" : "no enabled site has SSLEngine on") +
      "): passwords would cross the network in clear and Zendesk's remote login URL must be https://\n"
      "  fix: a2enmod ssl && a2ensite default-ssl && systemctl reload apache2 (then put your certificate in "
      "SSLCertificateFile/SSLCertificateKeyFile of " + dir + "/sites-available/default-ssl.conf; admin guide, section 4, \"HTTPS\")");
}

// nginx: the sites that serve zendesk-sso (through fcgiwrap) must listen with ssl.
void Deployment::check_https_nginx() {
  std::error_code ec;
  std::regex listen_ssl(R"((?:^|\n)\s*listen\s+[^;\n]*\bssl\b)");
  std::vector<std::string> plain;
  for (const char* sub : {"/sites-enabled", "/conf.d"})
    for (const auto& e : fs::directory_iterator(opt_.nginx_dir + sub, ec)) {
      std::string text = read_text(e.path().string());
      if (text.find("zendesk-sso") == std::string::npos) continue;
      if (!std::regex_search(text, listen_ssl)) plain.push_back(e.path().string());
    }
  for (const auto& f : plain)
    r_.warnings.push_back("nginx: " + f + " serves zendesk-sso but has no \"listen ... ssl\": passwords would cross "
                          "the network in clear and Zendesk's remote login URL must be https://\n"
                          "  fix: in its server block: listen 443 ssl; ssl_certificate /etc/ssl/certs/HOST.pem; "
                          "ssl_certificate_key /etc/ssl/private/HOST.key; then nginx -t && systemctl reload nginx");
}

// The end-to-end question no file answers: does the running web server run
// the CGI? GET its /health over loopback (and nowhere else: no proxy, the
// host name pinned to 127.0.0.1). The certificate is not verified: only the
// one-word answer is read, and nothing secret is sent.
void Deployment::check_web_server() {
  std::optional<WebTarget> t = apache_target(opt_.apache_dir);
  if (!t) t = nginx_target(opt_.nginx_dir);
  if (!t) return;
  const bool apache = t->server == "Apache";
  const std::string url = t->url();
  const std::string log = apache ? "/var/log/apache2/error.log" : "/var/log/nginx/error.log";
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return;
  CURL* c = curl.get();
  curl_slist* resolve = nullptr;
  if (t->host != "127.0.0.1")
    resolve = curl_slist_append(nullptr, (t->host + ":" + std::to_string(t->port) + ":127.0.0.1").c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> resolve_list(resolve, curl_slist_free_all);
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  // Our own server over loopback: its certificate is for the public name.
  set_up_handle(c, {.user_agent = "zendesk-sso-check/1", .protocols = "http,https", .timeout_s = 20,
                    .connect_timeout_s = 5, .verify_tls = false, .no_proxy = true});
  Reply r;
  r.max_body = 64 * 1024;
  std::string error;
  const std::string from = " (" + t->server + ", " + t->conf + ")";
  if (CURLcode rc = perform_request(c, url, nullptr, nullptr, r, error); rc != CURLE_OK) {
    r_.warnings.push_back("web server: GET " + url + from + ": " + error + ": is " + t->server +
                          " running? The CGI was not tried\n  fix: systemctl status " +
                          (apache ? "apache2" : "nginx"));
    return;
  }
  const std::string answered = "GET " + url + " answered " + std::to_string(r.status);
  if (from_our_cgi(r)) {
    if (r.status == 503)
      problem("web server: the CGI runs, but " + answered + " \"unavailable\": it cannot sign anyone in",
              "the cause is in the CGI's log line: journalctl -t zendesk-sso.cgi -g health -n 3");
    else
      r_.passed.push_back("the web server ran the CGI: " + answered +
                          (r.status == 403 ? " (its own refusal: 127.0.0.1 is outside network.ip_ranges)" : ""));
    return;
  }
  std::string restart = apache ? "systemctl restart apache2" : "nginx -t && systemctl reload nginx";
  if (r.status == 503)
    problem("web server: the web server could not run the CGI: " + answered + " from " + t->server +
                " itself, not from the CGI, which then logs nothing" + from,
            apache ? restart + " (mod_cgid's daemon starts only on a restart, not on a reload); the cause is in " + log
                   : "systemctl enable --now fcgiwrap.socket; the cause is in " + log);
  else if (r.status == 404)
    problem("web server: " + answered + " from " + t->server + ": it does not serve the CGI there" + from,
            apache ? "a2enconf zendesk-sso && " + restart : "include snippets/zendesk-sso.conf; in the server block, " + restart);
  else
    problem("web server: " + answered + " from " + t->server + ", not from the CGI" + from, "the cause is in " + log);
}

// Zendesk refuses tokens more than 3 minutes off its clock: an unsynchronised
// clock fails every sign-in sooner or later, all at once.
void Deployment::check_clock() {
  const ClockStatus clock = system_clock_status();
  if (clock.sync == ClockSync::synchronised) r_.passed.push_back("the system clock is synchronised (adjtimex)");
  else r_.warnings.push_back(clock_warning(clock));
}

// The key store as the broker reads and writes it (key_step.cpp): the
// authfile and its side file owned by root or the broker's user and
// writable by nobody else, and their folder, where the broker writes the
// side file (a new file renamed over the old) and its lock. A store others
// may write is the first thing said: the broker then trusts no key in it
// and every key holder's sign-in fails closed.
void Deployment::check_key_store(const Config& c, const std::string& prefix) {
  if (!broker_) return;   // whose the files must be is the broker's user's
  const std::string& authfile = c.webauthn.authfile;
  const std::string side = authfile + ".json";
  const std::string dir = fs::path(authfile).parent_path().string();
  const std::string key = prefix + "webauthn.authfile: ";
  const std::string owner = broker_->name + ":" + broker_->group;
  const uid_t broker_uid = broker_->uid;
  struct stat st {};
  const bool have_dir = ::stat(dir.c_str(), &st) == 0;
  const uid_t folder_uid = have_dir ? st.st_uid : broker_uid;
  // The broker's rule (store.hpp, read_store_file): root, itself or the folder's owner, writable by nobody else.
  auto others_may_write = [&](const struct stat& f) {
    return (f.st_uid != 0 && f.st_uid != broker_uid && f.st_uid != folder_uid) || (f.st_mode & (S_IWGRP | S_IWOTH));
  };
  const std::size_t problems_before = r_.problems.size();
  if (have_dir && others_may_write(st))
    problem(key + "the folder " + dir + " is " + describe_file(st) +
                ": others may write it, so they could replace the key store or reset its sign counts",
            "chown " + owner + " " + dir + " && chmod 0700 " + dir);
  for (const std::string& f : {authfile, side}) {
    if (::lstat(f.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode))
      problem(key + f + " is not a regular file (a link?): the broker opens no other kind, so every key holder's "
                  "sign-in fails closed (unavailable)",
              "put the file itself there: cp --remove-destination \"$(readlink -f " + f + ")\" " + f +
                  " && chown " + owner + " " + f + " && chmod 0600 " + f);
    else if (others_may_write(st))
      problem(key + f + " is " + describe_file(st) +
                  ": others may write it, so the broker trusts no key in it and every key holder's sign-in fails "
                  "closed (unavailable)",
              "chown " + owner + " " + f + " && chmod 0600 " + f);
  }
  if (::geteuid() != 0) return;
  if (!have_dir) {
    const bool shipped = authfile == WebauthnConfig{}.authfile;
    problem(key + "the folder " + dir + " does not exist: the broker cannot keep sign counts and refuses every key "
                "sign-in",
            shipped ? std::string("link the broker's webauthn.conf drop-in, which makes it (admin guide, "
                                  "\"Security keys\"): ") + kLinkWebauthnDropIn
                    : "install -d -o " + broker_->name + " -g " + broker_->group + " -m 0700 " + dir);
    return;
  }
  // Under the shipped unit (ProtectSystem=strict) only the folders it names are writable.
  if (service_unit_ && service_unit_->protect_system_strict) {
    bool writable = false;
    for (const auto& w : service_unit_->writable)
      if (dir == w || dir.rfind(w.back() == '/' ? w : w + "/", 0) == 0) writable = true;
    if (!writable) {
      const bool shipped = authfile == WebauthnConfig{}.authfile;
      problem(key + "the broker's unit " + service_unit_->path + " (ProtectSystem=strict) makes " + dir +
                  " read-only to it: the sign counts cannot be saved and every key sign-in is refused (unavailable)",
              shipped ? std::string("link the webauthn.conf drop-in: ") + kLinkWebauthnDropIn
                      : "systemctl edit zendesk-sso-authd.service: [Service] ReadWritePaths=" + dir +
                            ", then systemctl restart zendesk-sso-authd.service");
      return;
    }
  }
  std::string err = as_user(*broker_, [&] {
    return ::access(dir.c_str(), W_OK | X_OK) == 0 ? std::string() : dir + ": " + errno_text(errno);
  });
  if (!err.empty()) {
    problem(key + "as " + broker_->name + " (broker): " + err + " (the side file is written there): every key "
                "holder's sign-in fails closed",
            "chown " + owner + " " + dir + " && chmod 0700 " + dir);
    return;
  }
  bool usable = problems_before == r_.problems.size();
  for (const std::string& f : {authfile, side}) {
    // No key yet: no file yet; or said above.
    if (::lstat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || others_may_write(st)) continue;
    err = as_user(*broker_, [&] {
      auto text = authfile::read_store_file(f);
      return text ? std::string() : text.error();
    });
    if (!err.empty()) {
      usable = false;
      problem(key + "as " + broker_->name + " (broker): " + err + ": every key holder's sign-in fails closed",
              "chown " + owner + " " + f + " && chmod 0600 " + f);
    }
  }
  if (!usable) return;
  // Read, the lines must parse: a line the broker cannot read fails every key holder closed.
  err = as_user(*broker_, [&] {
    auto store = authfile::load_store(authfile);
    return store ? std::string() : store.error();
  });
  if (!err.empty())
    problem(key + err + ": the broker reads no key from it, so every key holder's sign-in fails closed",
            "see what is read with zendesk-sso keys list, then correct or remove the line (pam_u2f's format, "
            "user:KeyHandle,UserKey,CoseType,Options, as pamu2fcfg writes it)");
  else
    r_.passed.push_back("the broker's user " + broker_->name + " reads and writes the key store in " + dir);
}

// rp_id must be the sign-in host or a parent domain of it, and the host's
// https origin is what browsers there send. The host comes from the web
// server's config (no config key names it); without one, the origins are
// what rp_id was checked against (the config parser).
void Deployment::check_signin_host(const Config& c, const std::string& prefix) {
  const WebauthnConfig& w = c.webauthn;
  auto names = signin_host_names(opt_.apache_dir, opt_.nginx_dir);
  for (const auto& [name, file] : names) {
    if (!on_rp_id(name, w.rp_id)) {
      problem(prefix + "webauthn.rp_id: \"" + w.rp_id + "\" is neither the sign-in host " + name + " (" + file +
                  ") nor a parent domain of it: browsers there refuse every key",
              "edit " + config_path_ + ": \"rp_id\": \"" + name + "\" (or a parent domain of it that is yours)");
      continue;
    }
    bool listed = false;
    for (const auto& o : w.origins) listed = listed || webauthn_origin_host(o) == name;
    if (!listed)
      r_.warnings.push_back(prefix + "webauthn.origins: none is the sign-in host " + name + " (" + file +
                            "): a browser there sends https://" + name + " and the broker refuses its key (origin)\n"
                            "  fix: edit " + config_path_ + ": add \"https://" + name +
                            "\" to webauthn.origins (unless people reach the page by another name, e.g. a "
                            "balancer's: then that one)");
    else
      r_.passed.push_back(prefix + "webauthn.rp_id " + w.rp_id + " and its origins cover the sign-in host " + name +
                          " (" + file + ")");
  }
  if (names.empty())
    r_.passed.push_back(prefix + "webauthn.rp_id " + w.rp_id + " covers every webauthn.origins host (no ServerName or "
                        "server_name found to compare it with)");
}

void Deployment::run() {
  check_clock();
  find_users();
  check_https();
  check_web_server();
  std::set<std::string> stores;
  for (const auto& c : all_)
    if (c.webauthn.enabled() && broker_mode() && stores.insert(c.webauthn.authfile + "\n" + c.webauthn.rp_id).second) {
      std::string prefix = c.profile.empty() ? "" : "profile " + c.profile + ": ";
      check_key_store(c, prefix);
      check_signin_host(c, prefix);
    }
  if (::geteuid() != 0) {
    r_.warnings.push_back("not root: the files were not opened as the web server's and the broker's users, and "
                          "the broker was not pinged (sudo zendesk-sso check)");
    if (broker_mode()) check_peers();
    return;
  }
  if (web_) check_opens(*web_, "web server");
  if (broker_mode()) {
    if (broker_) check_opens(*broker_, "broker");
    check_peers();
    if (check_socket() && web_) check_ping();
  }
  if (web_) r_.passed.insert(r_.passed.begin(), "files open as " + web_->name + " (web server, " + web_->source + ")" +
                                                    (broker_ ? " and " + broker_->name + " (broker, " + broker_->source + ")" : ""));
}

}  // namespace

std::string paste_command(const std::string& path, std::string_view what) {
  return "cat > " + path + "   # paste " + std::string(what) + ", Enter, Ctrl-D";
}

std::string secret_file_fix(const std::string& path, const std::string& error, const std::string& group,
                            const std::string& fill) {
  const std::string own = "chown root:" + group + " " + path + " && chmod 0640 " + path;
  auto says = [&](std::string_view what) { return error.find(what) != std::string::npos; };
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "install -m 0640 -o root -g " + group + " /dev/null " + path + " && " + fill;
    return "sudo zendesk-sso check (" + path + ": " + errno_text(errno) + ")";
  }
  if (S_ISLNK(st.st_mode))
    return "put the file itself there: cp --remove-destination \"$(readlink -f " + path + ")\" " + path + " && " + own;
  if (!S_ISREG(st.st_mode)) return "put a regular file there (rm it, then " + fill + ")";
  // Owner and mode (the loader's words, files.hpp), or a reader that may not open it.
  if (says(kOwnerRule) || says(kSecretRule) || says("writable") || says(errno_text(EACCES))) return own;
  return fill;   // empty, or not one line of text
}

std::string secret_reader_group(const Config& cfg, const DeploymentOptions& opt) {
  const bool broker = !cfg.broker.socket.empty();
  const std::string& user = broker ? opt.broker_user : opt.web_user;
  if (!user.empty())
    if (const passwd* pw = ::getpwnam(user.c_str())) return group_name(pw->pw_gid);
  return broker ? "zendesk-sso" : "www-data";
}

void check_deployment(const std::vector<Config>& all, const std::string& config_path, const DeploymentOptions& opt,
                      CheckReport& report) {
  if (all.empty()) return;
  Deployment(all, config_path, opt, report).run();
}

}  // namespace zsso::cli
