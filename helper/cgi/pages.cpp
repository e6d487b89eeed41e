// SPDX-License-Identifier: BSD-3-Clause
#include "pages.hpp"

#include <cmath>
#include <cstdio>

#include "zsso/base64url.hpp"
#include "zsso/html.hpp"
#include "zsso/sha256.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {

// --zp: the primary colour, --zf: text on it (page_style sets both).
constexpr std::string_view kPageStyleText =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;"
    "background:#f4f5f7;color:#1b1f24;line-height:1.5}"
    "main{max-width:24rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem;"
    "border-top:4px solid var(--zp,#1f73b7);box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.35rem;margin:0 0 1rem}"
    "h2{font-size:1.15rem;margin:0 0 .75rem}"
    ".logo{display:block;max-width:12rem;max-height:4rem;margin:0 0 1rem}"
    "label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input{box-sizing:border-box;width:100%;font:inherit;padding:.6rem;border:1px solid #8a949e;border-radius:.3rem}"
    "input:focus,button:focus,a:focus{outline:3px solid var(--zp,#1f73b7);outline-offset:1px}"
    "button{margin-top:1.25rem;width:100%;font:inherit;font-weight:600;padding:.7rem;border:0;"
    "border-radius:.3rem;background:var(--zp,#1f73b7);color:var(--zf,#fff);cursor:pointer}"
    "a{color:#1a5f99}"
    ".alert{background:#fde8e8;border-left:4px solid #cc3340;padding:.5rem .75rem;margin:0 0 1rem}"
    ".banner{background:#fff8e1;border-left:4px solid #b7791f;padding:.5rem .75rem;margin:0 0 1rem;"
    "font-size:.9rem;overflow-wrap:anywhere}"
    ".help{margin-top:1.25rem;font-size:.9rem;overflow-wrap:anywhere}"
    ".note{background:#e8f1fb;border-left:4px solid #1f73b7;padding:.5rem .75rem;margin:0 0 1rem}"
    ".pam{white-space:pre-line}"
    ".again{margin-top:1rem;font-size:.9rem}"
    // "Remove" beside a key (the Security keys page): small and outlined, never the page's main button.
    ".remove button{width:auto;margin-top:.25rem;padding:.3rem .75rem;font-weight:400;background:#fff;"
    "color:#b3261e;border:1px solid #b3261e}"
    ".rid{color:#555;font-size:.85rem;margin-top:1.5rem}"
    "@media (max-width:30rem){main{margin:0;border-radius:0;box-shadow:none}}";

constexpr std::string_view kAutoSubmitScriptText = "document.getElementById('zendesk-sso').submit();";

// The key step's script: everything it needs comes from the form's data-
// attributes (no value is ever written into script text), so its hash is
// fixed. The same challenge serves "Try again" while the broker's step is
// open; after it the post is answered with the "start again" page.
constexpr std::string_view kKeyScriptText = R"JS(
(function () {
  var form = document.getElementById('zsso-key'), data = form.dataset;
  var again = document.getElementById('zsso-key-again');
  function show(id) {
    ['zsso-key-ask', 'zsso-key-failed', 'zsso-key-unsupported'].forEach(function (x) {
      document.getElementById(x).hidden = x !== id;
    });
  }
  function bytes(text) {
    var raw = atob(text.replace(/-/g, '+').replace(/_/g, '/')), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function text(buffer) {
    var b = new Uint8Array(buffer), s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function ask() {
    again.hidden = true;
    if (!window.PublicKeyCredential || !navigator.credentials) { show('zsso-key-unsupported'); return; }
    show('zsso-key-ask');
    var ids = data.credentials ? data.credentials.split(' ') : [];
    navigator.credentials.get({publicKey: {
      challenge: bytes(data.challenge), rpId: data.rpId, userVerification: data.userVerification,
      timeout: 120000,
      allowCredentials: ids.map(function (id) { return {type: 'public-key', id: bytes(id)}; })
    }}).then(function (c) {
      var f = form.elements;
      f.key_id.value = text(c.rawId);
      f.key_client_data.value = text(c.response.clientDataJSON);
      f.key_authenticator_data.value = text(c.response.authenticatorData);
      f.key_signature.value = text(c.response.signature);
      form.submit();
    }, function () {
      show('zsso-key-failed');
      again.hidden = false;
      again.focus();
    });
  }
  again.addEventListener('click', ask);
  ask();
})();
)JS";

// The enrolment's script: like kKeyScript, values only from data-
// attributes. create() runs when the form is sent (a click: Safari wants
// one), so the invite code, when asked, is typed first.
constexpr std::string_view kEnrolScriptText = R"JS(
(function () {
  var form = document.getElementById('zsso-enrol'), data = form.dataset;
  function show(id) {
    ['zsso-enrol-failed', 'zsso-enrol-unsupported'].forEach(function (x) {
      document.getElementById(x).hidden = x !== id;
    });
  }
  function bytes(text) {
    var raw = atob(text.replace(/-/g, '+').replace(/_/g, '/')), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function text(buffer) {
    var b = new Uint8Array(buffer), s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    show('zsso-enrol-unsupported');
    document.getElementById('zsso-enrol-add').disabled = true;
    return;
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    show('');
    var ids = data.exclude ? data.exclude.split(' ') : [];
    navigator.credentials.create({publicKey: {
      challenge: bytes(data.challenge), rp: {id: data.rpId, name: data.rpId},
      user: {id: bytes(data.userHandle), name: data.userName, displayName: data.userName},
      pubKeyCredParams: [{type: 'public-key', alg: -7}, {type: 'public-key', alg: -8},
                         {type: 'public-key', alg: -257}],
      excludeCredentials: ids.map(function (id) { return {type: 'public-key', id: bytes(id)}; }),
      authenticatorSelection: {userVerification: data.userVerification, residentKey: data.residentKey},
      attestation: data.attestation, timeout: 120000
    }}).then(function (c) {
      form.elements.reg_client_data.value = text(c.response.clientDataJSON);
      form.elements.reg_attestation.value = text(c.response.attestationObject);
      form.submit();
    }, function () {
      show('zsso-enrol-failed');
    });
  });
})();
)JS";

}  // namespace

const std::string_view kPageStyle = kPageStyleText;
const std::string_view kAutoSubmitScript = kAutoSubmitScriptText;
constinit const std::array<unsigned char, 32> kPageStyleSha256 = sha256(kPageStyleText);
constinit const std::array<unsigned char, 32> kAutoSubmitScriptSha256 = sha256(kAutoSubmitScriptText);
const std::string_view kKeyScript = kKeyScriptText;
constinit const std::array<unsigned char, 32> kKeyScriptSha256 = sha256(kKeyScriptText);
const std::string_view kEnrolScript = kEnrolScriptText;
constinit const std::array<unsigned char, 32> kEnrolScriptSha256 = sha256(kEnrolScriptText);

namespace {

const Language kEnglish{};

const Language& lang_of(const PageFrame& f) { return f.lang ? *f.lang : kEnglish; }

bool is_hex_colour(std::string_view c) {
  if (c.size() != 7 || c[0] != '#') return false;
  for (char x : c.substr(1))
    if (!((x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F'))) return false;
  return true;
}

// WCAG relative luminance of an sRGB colour.
double luminance(std::string_view c) {
  double l = 0;
  const double weights[3] = {0.2126, 0.7152, 0.0722};
  for (int i = 0; i < 3; ++i) {
    const double v = std::stoi(std::string(c.substr(1 + 2 * i, 2)), nullptr, 16) / 255.0;
    l += weights[i] * (v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4));
  }
  return l;
}

void open_page(std::string& out, const PageFrame& f, std::string_view title) {
  out += "<!doctype html>\n<html lang=\"";
  html_escape_append(out, lang_of(f).tag);
  out += "\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"robots\" content=\"noindex\">\n<title>";
  html_escape_append(out, title);
  out += " \xe2\x80\x93 ";
  html_escape_append(out, f.site_name);
  out += "</title>\n<style>";
  out += f.style.empty() ? kPageStyle : f.style;
  out += "</style>\n</head>\n<body>\n<main>\n";
  if (!f.brand.logo_data_url.empty()) {
    out += "<img class=\"logo\" src=\"";
    html_escape_append(out, f.brand.logo_data_url);
    out += "\" alt=\"\">\n";
  }
  out += "<h1>";
  html_escape_append(out, f.site_name);
  out += "</h1>\n";
}

void help_line(std::string& out, const PageFrame& f) {
  const Branding& b = f.brand;
  if (b.help_contact.empty() && b.help_url.empty()) return;
  out += "<p class=\"help\">";
  html_escape_append(out, tr(lang_of(f), "Need help?"));
  out += ' ';
  if (!b.help_url.empty()) {
    out += "<a href=\"";
    html_escape_append(out, b.help_url);
    out += "\">";
    html_escape_append(out, b.help_contact.empty() ? tr(lang_of(f), "Contact support") : b.help_contact);
    out += "</a>";
  } else {
    html_escape_append(out, b.help_contact);
  }
  out += "</p>\n";
}

void close_page(std::string& out, const PageFrame& f, bool with_request_id) {
  help_line(out, f);
  if (with_request_id && !f.request_id.empty()) {
    out += "<p class=\"rid\">";
    html_escape_append(out, tr(lang_of(f), "Request id:"));
    out += " <code>";
    html_escape_append(out, f.request_id);
    out += "</code></p>\n";
  }
  out += "</main>\n</body>\n</html>\n";
}

// What PAM said, above the prompts or the continue button: errors as
// alerts, the rest as notes; newlines kept (pre-line), everything escaped.
void append_messages(std::string& out, const std::vector<broker::Message>& messages) {
  for (const auto& m : messages) {
    if (m.is_prompt()) continue;
    out += m.kind == broker::Message::Kind::error ? "<p class=\"alert pam\" role=\"alert\">" : "<p class=\"note pam\">";
    html_escape_append(out, m.text);
    out += "</p>\n";
  }
}

bool contains_word(std::string_view text, std::initializer_list<std::string_view> words) {
  std::string lower;
  for (char c : text) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (auto w : words)
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

// What a prompt asks, known by the module's own text (issue 25.11).
enum class Asks { unknown, code, password, new_password, retype_password };

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

Asks what_prompt_asks(const broker::Message& prompt) {
  const std::string_view t = trim(prompt.text);
  // pam_oath ("One-time password (OATH) for `alice':"), pam_google_authenticator.
  if (starts_with(t, "One-time password (OATH) for ") || t == "Verification code:") return Asks::code;
  // pam_unix (pam_unix_auth, pam_unix_passwd), as under the C locale.
  if (t == "Password:") return Asks::password;
  if (t == "New password:") return Asks::new_password;
  if (t == "Retype new password:") return Asks::retype_password;
  return Asks::unknown;
}

// The label: a translated one for the prompts we know, else the module's text.
std::string_view prompt_label(const Language& L, const broker::Message& prompt) {
  switch (what_prompt_asks(prompt)) {
    case Asks::code: return tr(L, "One-time code");
    case Asks::password: return tr(L, "Password");
    case Asks::new_password: return tr(L, "New password");
    case Asks::retype_password: return tr(L, "Retype new password");
    case Asks::unknown: break;
  }
  return prompt.text.empty() ? tr(L, "Answer") : std::string_view(prompt.text);
}

// A one-time code is shown as it is typed (it is useless once used); a
// masked field hides typing mistakes for nothing. Words that can also
// name a secret PIN ("passcode", "pin", "token") keep the mask.
bool is_code_prompt(const broker::Message& prompt) {
  return what_prompt_asks(prompt) == Asks::code ||
         contains_word(prompt.text, {"one-time", "one time", "verification code", "otp"});
}

// Hints for the browser and password managers, from the module's prompt.
void append_input_hints(std::string& out, const broker::Message& prompt) {
  if (is_code_prompt(prompt) ||
      contains_word(prompt.text, {"code", "otp", "one-time", "one time", "token", "verification", "passcode", "pin"})) {
    out += " autocomplete=\"one-time-code\" inputmode=\"numeric\"";
  } else if (prompt.kind == broker::Message::Kind::echo_off) {
    out += contains_word(prompt.text, {"new", "retype", "again"}) ? " autocomplete=\"new-password\""
                                                                   : " autocomplete=\"current-password\"";
  } else {
    out += " autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\"";
  }
}

void append_hidden(std::string& out, std::string_view name, std::string_view value) {
  out += "<input type=\"hidden\" name=\"";
  out += name;
  out += "\" value=\"";
  html_escape_append(out, value);
  out += "\">\n";
}

// What every step of a conversation posts back (the prompt and key pages).
void append_step_fields(std::string& out, std::string_view csrf_token, std::string_view conversation,
                        std::uint8_t step, std::string_view return_to, const Language& L) {
  append_hidden(out, "csrf", csrf_token);
  append_hidden(out, "conversation", conversation);
  append_hidden(out, "step", std::to_string(step));
  if (!return_to.empty()) append_hidden(out, "return_to", return_to);
  append_hidden(out, "lang", L.tag);
}

// The way out of a conversation, below its form.
void append_start_again(std::string& out, std::string_view url, const Language& L) {
  out += "<p class=\"again\"><a href=\"";
  html_escape_append(out, url);
  out += "\">";
  html_escape_append(out, tr(L, "Start again"));
  out += "</a></p>\n";
}

// The key pages' form up to its data: id, action, challenge and rp id.
void append_key_form_start(std::string& out, std::string_view id, std::string_view action, std::string_view challenge,
                           std::string_view rp_id) {
  out += "<form id=\"";
  out += id;
  out += "\" method=\"post\" action=\"";
  html_escape_append(out, action);
  out += "\" data-challenge=\"";
  html_escape_append(out, base64url_encode(challenge));
  out += "\" data-rp-id=\"";
  html_escape_append(out, rp_id);
}

std::string_view verification_name(broker::KeyChallenge::Verification v) {
  switch (v) {
    case broker::KeyChallenge::Verification::required: return "required";
    case broker::KeyChallenge::Verification::discouraged: return "discouraged";
    case broker::KeyChallenge::Verification::preferred: break;
  }
  return "preferred";
}

// Credential ids base64url, separated by spaces (a data- attribute's value).
void append_credential_ids(std::string& out, const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    html_escape_append(out, base64url_encode(ids[i]));
  }
}

// The key pages' hidden alerts (prefix "zsso-key" or "zsso-enrol"): the
// key did not answer; the browser has no WebAuthn; no JavaScript.
void append_key_alerts(std::string& out, std::string_view prefix, std::string_view unsupported, const Language& L) {
  out += "<p id=\"";
  out += prefix;
  out += "-failed\" class=\"alert\" role=\"alert\" hidden>";
  html_escape_append(out, tr(L, "The security key did not answer: the request was cancelled or took too long."));
  out += "</p>\n<p id=\"";
  out += prefix;
  out += "-unsupported\" class=\"alert\" role=\"alert\" hidden>";
  html_escape_append(out, unsupported);
  out += "</p>\n<noscript><p class=\"alert\">";
  html_escape_append(out, tr(L, "Your security key can only be used with JavaScript turned on. Turn it on, or "
                                "use another browser, and start again."));
  out += "</p></noscript>\n";
}

void append_script(std::string& out, std::string_view script) {
  out += "<script>";
  out += script;
  out += "</script>\n";
}

}  // namespace

std::string page_style(std::string_view primary_color) {
  std::string s(kPageStyle);
  if (!is_hex_colour(primary_color)) return s;
  // Text on the colour: white or near-black, whichever contrasts more.
  const double l = luminance(primary_color);
  const bool dark_text = (l + 0.05) / (0.0137 + 0.05) > 1.05 / (l + 0.05);
  s += ":root{--zp:";
  for (char c : primary_color) s += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  s += dark_text ? ";--zf:#1b1f24}" : ";--zf:#fff}";
  return s;
}

std::string prompt_page(const PageFrame& f, const PromptForm& form) {
  const Language& L = lang_of(f);
  std::string out;
  out.reserve(4096);
  open_page(out, f, tr(L, "Sign in"));
  out += "<form method=\"post\" action=\"";
  html_escape_append(out, form.action);
  out += "\">\n";
  append_messages(out, form.messages);
  int k = 0;
  for (const auto& m : form.messages) {
    if (!m.is_prompt()) continue;
    const std::string id = "answer" + std::to_string(k++);
    out += "<label for=\"" + id + "\">";
    html_escape_append(out, prompt_label(L, m));
    out += "</label>\n<input id=\"" + id + "\" name=\"" + id + "\" type=\"";
    out += m.kind == broker::Message::Kind::echo_off && !is_code_prompt(m) ? "password" : "text";
    out += "\"";
    append_input_hints(out, m);
    out += k == 1 ? " autofocus>\n" : ">\n";
  }
  append_step_fields(out, form.csrf_token, form.conversation, form.step, form.return_to, L);
  out += "<button type=\"submit\">";
  html_escape_append(out, tr(L, "Continue"));
  out += "</button>\n</form>\n";
  append_start_again(out, form.start_again_url, L);
  close_page(out, f, false);
  return out;
}

std::string key_page(const PageFrame& f, const KeyForm& form) {
  const Language& L = lang_of(f);
  const broker::KeyChallenge& key = form.key;
  std::string out;
  out.reserve(8192);
  open_page(out, f, tr(L, "Security key"));
  out += "<h2>";
  html_escape_append(out, tr(L, "Security key"));
  out += "</h2>\n";
  append_messages(out, form.messages);
  append_key_form_start(out, "zsso-key", form.action, key.challenge, key.rp_id);
  out += "\" data-user-verification=\"";
  out += verification_name(key.user_verification);
  out += "\" data-credentials=\"";
  append_credential_ids(out, key.credential_ids);
  out += "\">\n<p id=\"zsso-key-ask\" aria-live=\"polite\">";
  html_escape_append(out, tr(L, "Use your security key to finish signing in: insert or touch it when your browser asks."));
  out += "</p>\n";
  append_key_alerts(out, "zsso-key",
                    tr(L, "This browser cannot use security keys. Open the sign-in page in a current browser "
                          "(Chrome, Edge, Firefox or Safari) and start again."),
                    L);
  append_step_fields(out, form.csrf_token, form.conversation, form.step, form.return_to, L);
  for (auto name : {"key_id", "key_client_data", "key_authenticator_data", "key_signature"})
    append_hidden(out, name, "");
  out += "<button type=\"button\" id=\"zsso-key-again\" hidden>";
  html_escape_append(out, tr(L, "Try again"));
  out += "</button>\n</form>\n";
  append_start_again(out, form.start_again_url, L);
  append_script(out, kKeyScript);
  close_page(out, f, false);
  return out;
}

namespace {

void append_key_list(std::string& out, const std::vector<broker::KeyListEntry>& keys, const Language& L) {
  if (keys.empty()) {
    out += "<p>";
    html_escape_append(out, tr(L, "Your account has no security key yet."));
    out += "</p>\n";
    return;
  }
  out += "<p>";
  html_escape_append(out, tr(L, "Your security keys:"));
  out += "</p>\n<ul class=\"keys\">\n";
  for (const auto& k : keys) {
    out += "<li><code>";
    html_escape_append(out, k.id);
    out += "</code> (";
    html_escape_append(out, k.type);
    out += ")</li>\n";
  }
  out += "</ul>\n";
}

}  // namespace

std::string enrol_page(const PageFrame& f, const EnrolForm& form) {
  const Language& L = lang_of(f);
  const broker::KeyRegistration& reg = form.registration;
  std::string out;
  out.reserve(8192);
  open_page(out, f, tr(L, "Security keys"));
  out += "<h2>";
  html_escape_append(out, tr(L, "Security keys"));
  out += "</h2>\n";
  append_messages(out, form.messages);
  append_key_list(out, form.keys, L);
  // One small form per key: "Remove" posts its short id into the same step.
  for (const auto& k : form.keys) {
    out += "<form class=\"remove\" method=\"post\" action=\"";
    html_escape_append(out, form.action);
    out += "\">\n";
    append_step_fields(out, form.csrf_token, form.conversation, form.step, form.return_to, L);
    out += "<button type=\"submit\" name=\"remove_key\" value=\"";
    html_escape_append(out, k.id);
    out += "\">";
    html_escape_append(out, fill(tr(L, "Remove {key}"), {{"key", k.id}}));
    out += "</button>\n</form>\n";
  }
  append_key_form_start(out, "zsso-enrol", form.action, reg.challenge, reg.rp_id);
  out += "\" data-user-handle=\"";
  html_escape_append(out, base64url_encode(reg.user_handle));
  out += "\" data-user-name=\"";
  html_escape_append(out, reg.user_name);
  out += "\" data-user-verification=\"";
  out += verification_name(reg.user_verification);
  out += "\" data-attestation=\"";
  out += form.direct_attestation ? "direct" : "none";
  out += "\" data-resident-key=\"";
  out += form.discoverable ? "preferred" : "discouraged";
  out += "\" data-exclude=\"";
  append_credential_ids(out, reg.exclude_ids);
  out += "\">\n<p>";
  html_escape_append(out, tr(L, "To add a security key, press the button and insert or touch the key when your "
                                "browser asks."));
  out += "</p>\n";
  if (reg.invite_needed) {
    out += "<label for=\"invite_code\">";
    html_escape_append(out, tr(L, "Invite code (from your IT support, for your first key)"));
    out += "</label>\n<input id=\"invite_code\" name=\"invite_code\" type=\"text\" autocomplete=\"off\" "
           "autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\n";
  }
  append_key_alerts(out, "zsso-enrol",
                    tr(L, "This browser cannot use security keys. Open this page in a current browser "
                          "(Chrome, Edge, Firefox or Safari) and start again."),
                    L);
  append_step_fields(out, form.csrf_token, form.conversation, form.step, form.return_to, L);
  for (auto name : {"reg_client_data", "reg_attestation"}) append_hidden(out, name, "");
  out += "<button type=\"submit\" id=\"zsso-enrol-add\">";
  html_escape_append(out, tr(L, "Add a security key"));
  out += "</button>\n</form>\n";
  append_start_again(out, form.start_again_url, L);
  append_script(out, kEnrolScript);
  close_page(out, f, false);
  return out;
}

std::string key_added_page(const PageFrame& f, const std::vector<broker::KeyListEntry>& keys,
                           std::string_view again_url, bool removed) {
  const Language& L = lang_of(f);
  const std::string_view title = removed ? tr(L, "Security key removed") : tr(L, "Security key added");
  std::string out;
  out.reserve(2048);
  open_page(out, f, title);
  out += "<h2>";
  html_escape_append(out, title);
  out += "</h2>\n<p>";
  html_escape_append(out, removed ? tr(L, "It no longer signs in to your account.")
                                  : tr(L, "From now on, sign in with it when the sign-in page asks for your security key."));
  out += "</p>\n";
  append_key_list(out, keys, L);
  out += "<p><a href=\"";
  html_escape_append(out, again_url);
  out += "\">";
  html_escape_append(out, tr(L, "Add another security key"));
  out += "</a></p>\n";
  close_page(out, f, false);
  return out;
}

std::string login_form_page(const PageFrame& f, const LoginForm& form) {
  const Language& L = lang_of(f);
  std::string out;
  out.reserve(4096);
  open_page(out, f, form.heading.empty() ? tr(L, "Sign in") : form.heading);
  if (!form.heading.empty()) {
    out += "<h2>";
    html_escape_append(out, form.heading);
    out += "</h2>\n";
  }
  if (!f.brand.banner.empty()) {
    out += "<p class=\"banner\" role=\"note\">";
    html_escape_append(out, f.brand.banner);
    out += "</p>\n";
  }
  out += "<form method=\"post\" action=\"";
  html_escape_append(out, form.action);
  out += "\">\n";
  if (!form.message.empty()) {
    out += "<p class=\"alert\" role=\"alert\">";
    html_escape_append(out, form.message);
    out += "</p>\n";
  }
  out += "<p>";
  if (!form.intro.empty()) html_escape_append(out, form.intro);
  else html_escape_append(out, fill(tr(L, "Sign in to Zendesk with your {site} account."), {{"site", f.site_name}}));
  out += "</p>\n<label for=\"user\">";
  html_escape_append(out, tr(L, "User name"));
  out += "</label>\n"
         "<input id=\"user\" name=\"user\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" "
         "spellcheck=\"false\" required";
  if (form.user.empty()) {
    out += " autofocus>\n";
  } else {
    out += " value=\"";
    html_escape_append(out, form.user);
    out += "\">\n";
  }
  out += "<label for=\"password\">";
  html_escape_append(out, tr(L, "Password"));
  out += "</label>\n"
         "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required";
  out += form.user.empty() ? ">\n" : " autofocus>\n";
  out += "<input type=\"hidden\" name=\"csrf\" value=\"";
  html_escape_append(out, form.csrf_token);
  out += "\">\n";
  if (!form.return_to.empty()) {
    out += "<input type=\"hidden\" name=\"return_to\" value=\"";
    html_escape_append(out, form.return_to);
    out += "\">\n";
  }
  out += "<input type=\"hidden\" name=\"lang\" value=\"";
  html_escape_append(out, L.tag);
  out += "\">\n<button type=\"submit\">";
  html_escape_append(out, tr(L, "Sign in"));
  out += "</button>\n</form>\n";
  close_page(out, f, !form.message.empty());
  return out;
}

std::string message_page(const PageFrame& f, const Message& m) {
  std::string out;
  out.reserve(2048);
  open_page(out, f, m.title);
  out += "<h2>";
  html_escape_append(out, m.title);
  out += "</h2>\n<p>";
  html_escape_append(out, m.text);
  out += "</p>\n";
  if (!m.next.empty()) {
    out += "<p class=\"next\">";
    html_escape_append(out, m.next);
    out += "</p>\n";
  }
  if (!m.link_url.empty()) {
    out += "<p><a href=\"";
    html_escape_append(out, m.link_url);
    out += "\">";
    html_escape_append(out, m.link_label);
    out += "</a></p>\n";
  }
  close_page(out, f, m.with_request_id);
  return out;
}

std::string message_page(const PageFrame& f, std::string_view title, std::string_view text,
                         std::string_view link_url, std::string_view link_label, bool with_request_id) {
  return message_page(f, Message{title, text, {}, link_url, link_label, with_request_id});
}

std::string delivery_page(const PageFrame& f, std::string_view post_form_html,
                          const std::vector<broker::Message>& messages) {
  const Language& L = lang_of(f);
  std::string out;
  out.reserve(2048 + post_form_html.size());
  open_page(out, f, tr(L, "Signing in"));
  if (!messages.empty()) {
    // Something to read first ("Your password will expire in 3 days"): no
    // auto-submit, the person continues when they have read it.
    append_messages(out, messages);
    out += "<p>";
    html_escape_append(out, tr(L, "Press the button to continue to Zendesk."));
    out += "</p>\n";
    out += post_form_html;
    close_page(out, f, false);
    return out;
  }
  out += "<p>";
  html_escape_append(out, tr(L, "Signing you in to Zendesk... If nothing happens, press the button."));
  out += "</p>\n";
  out += post_form_html;
  out += "<script>";
  out += kAutoSubmitScript;
  out += "</script>\n";
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace zsso::cgi
