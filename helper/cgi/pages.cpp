#include "pages.hpp"

#include "zsso/html.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

const std::string_view kPageStyle =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;"
    "background:#f4f5f7;color:#1b1f24;line-height:1.5}"
    "main{max-width:24rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem;"
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.35rem;margin:0 0 1rem}"
    "label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input{box-sizing:border-box;width:100%;font:inherit;padding:.6rem;border:1px solid #8a949e;border-radius:.3rem}"
    "input:focus,button:focus{outline:3px solid #1f73b7;outline-offset:1px}"
    "button{margin-top:1.25rem;width:100%;font:inherit;font-weight:600;padding:.7rem;border:0;"
    "border-radius:.3rem;background:#1f73b7;color:#fff;cursor:pointer}"
    ".alert{background:#fde8e8;border-left:4px solid #cc3340;padding:.5rem .75rem;margin:0 0 1rem}"
    ".rid{color:#555;font-size:.85rem;margin-top:1.5rem}"
    "@media (max-width:30rem){main{margin:0;border-radius:0;box-shadow:none}}";

const std::string_view kAutoSubmitScript = "document.getElementById('zendesk-sso').submit();";

namespace {

void open_page(std::string& out, const PageFrame& f, std::string_view title) {
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"robots\" content=\"noindex\">\n<title>";
  html_escape_append(out, title);
  out += " \xe2\x80\x93 ";
  html_escape_append(out, f.site_name);
  out += "</title>\n<style>";
  out += kPageStyle;
  out += "</style>\n</head>\n<body>\n<main>\n<h1>";
  html_escape_append(out, f.site_name);
  out += "</h1>\n";
}

void close_page(std::string& out, const PageFrame& f, bool with_request_id) {
  if (with_request_id && !f.request_id.empty()) {
    out += "<p class=\"rid\">Request id: <code>";
    html_escape_append(out, f.request_id);
    out += "</code></p>\n";
  }
  out += "</main>\n</body>\n</html>\n";
}

}  // namespace

std::string login_form_page(const PageFrame& f, const LoginForm& form) {
  std::string out;
  out.reserve(4096);
  open_page(out, f, "Sign in");
  out += "<form method=\"post\" action=\"";
  html_escape_append(out, form.action);
  out += "\">\n";
  if (!form.message.empty()) {
    out += "<p class=\"alert\" role=\"alert\">";
    html_escape_append(out, form.message);
    out += "</p>\n";
  }
  out += "<p>Sign in to Zendesk with your intranet account.</p>\n"
         "<label for=\"user\">User name</label>\n"
         "<input id=\"user\" name=\"user\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" "
         "spellcheck=\"false\" required";
  if (form.user.empty()) {
    out += " autofocus>\n";
  } else {
    out += " value=\"";
    html_escape_append(out, form.user);
    out += "\">\n";
  }
  out += "<label for=\"password\">Password</label>\n"
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
  out += "<button type=\"submit\">Sign in</button>\n</form>\n";
  close_page(out, f, !form.message.empty());
  return out;
}

std::string message_page(const PageFrame& f, std::string_view title, std::string_view text,
                         std::string_view link_url, std::string_view link_label, bool with_request_id) {
  std::string out;
  out.reserve(2048);
  open_page(out, f, title);
  out += "<h2>";
  html_escape_append(out, title);
  out += "</h2>\n<p>";
  html_escape_append(out, text);
  out += "</p>\n";
  if (!link_url.empty()) {
    out += "<p><a href=\"";
    html_escape_append(out, link_url);
    out += "\">";
    html_escape_append(out, link_label);
    out += "</a></p>\n";
  }
  close_page(out, f, with_request_id);
  return out;
}

std::string zendesk_error_text(std::string_view message) {
  // The page texts this file adds for Zendesk's errors, all in one place.
  struct Known {
    std::string_view needle;   // in Zendesk's message, case-insensitive
    std::string_view advice;
  };
  static constexpr Known kKnown[] = {
      {"invalid iat", "Zendesk refused the sign-in because of the time in it: the sign-in server's clock "
                      "is probably wrong. Tell your administrator."},
      {"signature invalid", "Zendesk could not check the sign-in: the shared secret probably differs "
                            "between Zendesk and this server. Tell your administrator."},
      {"not allowed to sign up", "Zendesk does not let this account sign up. Tell your administrator."},
  };
  if (message.empty()) return "Zendesk reported an error without a message.";
  const std::string lower = ascii_lower(message);
  for (const auto& k : kKnown)
    if (lower.find(k.needle) != std::string::npos) return std::string(k.advice);
  // C0 controls (NUL, ESC, CR/LF) are never Zendesk's text: not shown at
  // all. Bidi controls, line separators and C1 controls are neutralised.
  auto shown = has_control_chars(message) ? std::nullopt : display_excerpt(message, kMaxZendeskMessageShown);
  if (!shown) return "Zendesk reported an error (the message was not valid text).";
  return "Zendesk reported: \xe2\x80\x9c" + *shown + "\xe2\x80\x9d";
}

std::string delivery_page(const PageFrame& f, std::string_view post_form_html) {
  std::string out;
  out.reserve(2048 + post_form_html.size());
  open_page(out, f, "Signing in");
  out += "<p>Signing you in to Zendesk\xe2\x80\xa6 If nothing happens, press the button.</p>\n";
  out += post_form_html;
  out += "<script>";
  out += kAutoSubmitScript;
  out += "</script>\n";
  close_page(out, f, false);
  return out;
}

}  // namespace zsso::cgi
