// SPDX-License-Identifier: BSD-3-Clause
// The HTML the CGI shows: plain, accessible, readable on a phone, in the
// user's language (i18n.hpp) and the company's look (Branding). Every value
// from outside is HTML-escaped here; callers pass raw text. Texts given to
// these functions are already translated (tr()); the page's own chrome
// (labels, "Request id", "Need help?") is translated here.
#pragma once

#include <array>
#include <cstdint>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/broker_protocol.hpp"

#include "i18n.hpp"

namespace zsso::cgi {

// Inline CSS and the auto-submit script; CSP allows exactly these by hash.
// kPageStyle is the base; page_style() adds the configured colour, and the
// CSP hash is of the text actually sent (the routes' csp()). The
// digests of the two fixed texts are the compiler's (constexpr sha256).
extern const std::string_view kPageStyle;
extern const std::string_view kAutoSubmitScript;
extern const std::array<unsigned char, 32> kPageStyleSha256;
extern const std::array<unsigned char, 32> kAutoSubmitScriptSha256;
// The security key step's script (issue 23): reads the form's data-
// attributes, calls navigator.credentials.get() and posts the answer.
extern const std::string_view kKeyScript;
extern const std::array<unsigned char, 32> kKeyScriptSha256;
// The "Security keys" page's script (enrolment): reads the form's data-
// attributes, calls navigator.credentials.create() when the form is sent
// and posts the answer.
extern const std::string_view kEnrolScript;
extern const std::array<unsigned char, 32> kEnrolScriptSha256;

// kPageStyle plus, for a valid "#rrggbb", the colour for buttons, focus
// rings and the card's top edge, and a readable text colour on it.
std::string page_style(std::string_view primary_color);

struct Branding {
  std::string_view help_contact{};   // text; "" = none
  std::string_view help_url{};       // https:, http: or mailto: (validated by the config)
  std::string_view logo_data_url{};  // "data:image/png;base64,..." built by the caller; "" = none
  std::string_view banner{};         // notice shown on the sign-in form
};

struct PageFrame {
  std::string_view site_name{};
  std::string_view request_id{};     // shown on error pages, matches the syslog line
  const Language* lang = nullptr;  // nullptr: English
  std::string_view style{};          // the <style> text; "" = kPageStyle
  Branding brand{};
};

struct LoginForm {
  std::string_view action{};       // URL the form posts to (this login URL)
  std::string_view csrf_token{};
  std::string_view return_to{};    // already validated; "" = none
  std::string_view user{};         // prefilled after a failed attempt
  std::string_view message{};      // "" or one generic sentence (translated)
  // The "Security keys" page's form: its heading and why it asks (translated);
  // "" = the sign-in form.
  std::string_view heading{};
  std::string_view intro{};
};

// The form also carries the page's language (hidden "lang") so the answer
// to the POST speaks the same language.
std::string login_form_page(const PageFrame& f, const LoginForm& form);

// A short page: heading, what happened, what to do next, optional link, the
// help contact, and the request id when with_request_id (every error page).
struct Message {
  std::string_view title{};
  std::string_view text{};
  std::string_view next{};        // second paragraph: what to do now ("" = none)
  std::string_view link_url{};
  std::string_view link_label{};
  bool with_request_id = true;
};
std::string message_page(const PageFrame& f, const Message& m);
// One step of a multi-step sign-in: what PAM said, then one input per
// prompt (answer0, answer1, ...) labelled with the module's own text.
struct PromptForm {
  std::string_view action;
  std::string_view csrf_token;
  std::string_view return_to;
  std::string_view conversation;  // the id in hex
  std::uint8_t step = 0;
  const std::vector<broker::Message>& messages;
  std::string_view start_again_url;
};

std::string prompt_page(const PageFrame& f, const PromptForm& form);

// A security key step (issue 23): the broker's challenge, rp id, credential
// ids (raw bytes; the page carries them base64url in data- attributes) and
// user verification, read by kKeyScript, which posts the browser's answer
// as key_id, key_client_data, key_authenticator_data and key_signature.
// Without WebAuthn (or JavaScript) the page says so and offers to start
// again; a cancelled or timed-out prompt shows a "Try again" button.
struct KeyForm {
  std::string_view action;
  std::string_view csrf_token;
  std::string_view return_to;
  std::string_view conversation;  // the id in hex
  std::uint8_t step = 0;
  const broker::KeyChallenge& key;
  const std::vector<broker::Message>& messages;
  std::string_view start_again_url;
};

std::string key_page(const PageFrame& f, const KeyForm& form);

// The registration step of an enrolment (the "Security keys" page): the
// account's keys, each with a "Remove" button (a form of its own posting
// remove_key with the step's fields); the invite code field when the broker
// needs one; and the broker's challenge, rp id, user handle and name,
// credential ids to exclude and user verification in data- attributes, read
// by kEnrolScript, which posts the answer as reg_client_data and
// reg_attestation.
struct EnrolForm {
  std::string_view action;
  std::string_view csrf_token;
  std::string_view return_to;
  std::string_view conversation;  // the id in hex
  std::uint8_t step = 0;
  const broker::KeyRegistration& registration;
  const std::vector<broker::KeyListEntry>& keys;
  const std::vector<broker::Message>& messages;
  std::string_view start_again_url;
  // What navigator.credentials.create() asks for: attestation "direct" when
  // webauthn.aaguids lists the models taken (else "none": the browser hides
  // the maker), a discoverable key "preferred" when webauthn.passwordless is
  // on (a passkey), else "discouraged".
  bool direct_attestation = false;
  bool discoverable = false;
};
std::string enrol_page(const PageFrame& f, const EnrolForm& form);
// After an enrolment: "Security key added" (or, removed: "Security key
// removed") and the account's keys.
std::string key_added_page(const PageFrame& f, const std::vector<broker::KeyListEntry>& keys,
                           std::string_view again_url, bool removed = false);

// A short page: heading, one paragraph, optional link, and the request id
// when with_request_id (every error page).
std::string message_page(const PageFrame& f, std::string_view title, std::string_view text,
                         std::string_view link_url = {}, std::string_view link_label = {},
                         bool with_request_id = true);

// Wraps core's jwt_post_form (already escaped) with the auto-submit script;
// with messages from PAM, shows them and waits for the button instead.
std::string delivery_page(const PageFrame& f, std::string_view post_form_html,
                          const std::vector<broker::Message>& messages = {});

}  // namespace zsso::cgi
