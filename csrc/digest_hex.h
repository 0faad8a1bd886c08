// The hex form of an EVP digest, as image digests are written ("sha256:" + this).
#ifndef RUNT_DIGEST_HEX_H_
#define RUNT_DIGEST_HEX_H_

#include <openssl/evp.h>

#include <string>

namespace runt {

/** `len` bytes of a digest in lower-case hex. */
inline std::string Hex(const unsigned char* md, unsigned len) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; i++) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

/** Finishes `ctx` and returns its digest in lower-case hex. */
inline std::string FinalHex(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx, md, &md_len);
  return Hex(md, md_len);
}

}  // namespace runt

#endif  // RUNT_DIGEST_HEX_H_
