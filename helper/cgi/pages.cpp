// SPDX-License-Identifier: BSD-3-Clause
#include "pages.hpp"

#include "zsso/html.hpp"

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
    ".note{background:#e8f1fb;border-left:4px solid #1f73b7;padding:.5rem .75rem;margin:0 0 1rem}"
    ".pam{white-space:pre-line}"
    ".again{margin-top:1rem;font-size:.9rem}"
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

// Hints for the browser and password managers, from the module's prompt.
void append_input_hints(std::string& out, const broker::Message& prompt) {
  if (contains_word(prompt.text, {"code", "otp", "one-time", "one time", "token", "verification", "passcode", "pin"})) {
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

}  // namespace

std::string prompt_page(const PageFrame& f, const PromptForm& form) {
  std::string out;
  out.reserve(4096);
  open_page(out, f, "Sign in");
  out += "<form method=\"post\" action=\"";
  html_escape_append(out, form.action);
  out += "\">\n";
  append_messages(out, form.messages);
  int k = 0;
  for (const auto& m : form.messages) {
    if (!m.is_prompt()) continue;
    const std::string id = "answer" + std::to_string(k++);
    out += "<label for=\"" + id + "\">";
    html_escape_append(out, m.text.empty() ? std::string_view("Answer") : std::string_view(m.text));
    out += "</label>\n<input id=\"" + id + "\" name=\"" + id + "\" type=\"";
    out += m.kind == broker::Message::Kind::echo_off ? "password" : "text";
    out += "\"";
    append_input_hints(out, m);
    out += k == 1 ? " autofocus>\n" : ">\n";
  }
  append_hidden(out, "csrf", form.csrf_token);
  append_hidden(out, "conversation", form.conversation);
  append_hidden(out, "step", std::to_string(form.step));
  if (!form.return_to.empty()) append_hidden(out, "return_to", form.return_to);
  out += "<button type=\"submit\">Continue</button>\n</form>\n<p class=\"again\"><a href=\"";
  html_escape_append(out, form.start_again_url);
  out += "\">Start again</a></p>\n";
  close_page(out, f, false);
  return out;
}

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

std::string delivery_page(const PageFrame& f, std::string_view post_form_html,
                          const std::vector<broker::Message>& messages) {
  std::string out;
  out.reserve(2048 + post_form_html.size());
  open_page(out, f, "Signing in");
  if (!messages.empty()) {
    // Something to read first ("Your password will expire in 3 days"): no
    // auto-submit, the person continues when they have read it.
    append_messages(out, messages);
    out += "<p>Press the button to continue to Zendesk.</p>\n";
    out += post_form_html;
    close_page(out, f, false);
    return out;
  }
  out += "<p>Signing you in to Zendesk\xe2\x80\xa6 If nothing happens, press the button.</p>\n";
  out += post_form_html;
  out += "<script>";
  out += kAutoSubmitScript;
  out += "</script>\n";
  close_page(out, f, false);
  return out;
}

}  // namespace zsso::cgi
