#pragma once

// Standard, padded base64 (RFC 4648 section 4), the one form Kubernetes uses
// for []byte: the admission response's patch, kubeconfig's *-data fields,
// Secret data. OpenSSL's EVP block coder does the work.

#include <string>
#include <string_view>

#include "core/result.h"

namespace mpshare::platform {

// "hi" -> "aGk=". Appends to `out`, so a response is written in one buffer.
void appendBase64(std::string& out, std::string_view bytes);
std::string base64Encode(std::string_view bytes);

// Strict: the length a multiple of 4, only A-Z a-z 0-9 + /, and '=' only as the
// last one or two characters; no whitespace (callers that allow line breaks
// remove them first). Errors say what was found where, e.g.
// `not a base64 character '*' at 5 (allowed: A-Z a-z 0-9 + / and = at the end)`.
core::Result<std::string> base64Decode(std::string_view text);

}  // namespace mpshare::platform
