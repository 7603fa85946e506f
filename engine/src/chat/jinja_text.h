#pragma once
// Python str semantics over UTF-8 std::string: lengths and indices count code points, and
// strip/split/splitlines/upper/lower/title behave as Python's do. Bytes that are not valid
// UTF-8 survive a decode/encode round trip unchanged (as Python's surrogateescape does).
//
// Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic, which is what chat
// templates meet in practice (they upper-case role names, not user text); other scripts are
// left as they are.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::jinja {

std::u32string decode_utf8(std::string_view s);
// Decodes the code point at s[pos] and advances pos past it.
char32_t decode_code_point(std::string_view s, size_t& pos);
std::string encode_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
size_t count_code_points(std::string_view s);

bool is_space(char32_t c);  // str.isspace()
bool is_alpha(char32_t c);
bool is_digit(char32_t c);
bool is_word_char(char32_t c);  // regex \w
bool is_upper(char32_t c);
bool is_lower(char32_t c);
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title()
std::string capitalize(std::string_view s);  // str.capitalize()

// str.strip/lstrip/rstrip; without `chars` they strip whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit) and str.rsplit; without `sep` runs of whitespace separate.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// str.replace(old, new, count); count < 0 replaces all.
std::string replace(std::string_view s, std::string_view from, std::string_view to, long count);

// What jinja's escape() produces: & < > " ' as &amp; &lt; &gt; &#34; &#39;.
std::string html_escape(std::string_view s);

}  // namespace tandem::jinja
