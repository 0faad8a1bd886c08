// sha256 helpers shared by the blob addons (blob_fetch.cc, blob_sink.cc): a digest's hex form, as
// image digests are written ("sha256:" + this), and the hashing of a resumed download's partial file.
#ifndef RUNT_BLOB_DIGEST_H_
#define RUNT_BLOB_DIGEST_H_

#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

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

/** Hashes the first `length` bytes of `fd` into `ctx`, reading through `buf` (`size` bytes).
 *  0, or the errno of the failed pread (EIO: the file is shorter than `length`). */
inline int HashFilePrefix(int fd, uint64_t length, EVP_MD_CTX* ctx, char* buf, size_t size) {
  for (uint64_t at = 0; at < length;) {
    ssize_t n = pread(fd, buf, std::min<uint64_t>(size, length - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    EVP_DigestUpdate(ctx, buf, static_cast<size_t>(n));
    at += static_cast<uint64_t>(n);
  }
  return 0;
}

}  // namespace runt

#endif  // RUNT_BLOB_DIGEST_H_
