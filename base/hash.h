/*
 * base/hash.h - SHA-256 (OpenSSL's libcrypto underneath) for content fingerprints,
 * configuration hashes and download checks.
 */
#ifndef ASSAY_BASE_HASH_H
#define ASSAY_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define HASH_SHA256_BYTES 32
#define HASH_SHA256_HEX   65 /* 64 hex digits and a NUL */

struct hash_sha256 {
    void *ctx; /* EVP_MD_CTX, owned */
};

int hash_sha256_init(struct hash_sha256 *h, struct assay_error *err);
void hash_sha256_update(struct hash_sha256 *h, const void *data, size_t len);
/* Write the digest as 64 lowercase hex digits into hex and release the context. */
void hash_sha256_final_hex(struct hash_sha256 *h, char hex[HASH_SHA256_HEX]);
/* Release without a digest (safe after final, and on a zeroed struct). */
void hash_sha256_release(struct hash_sha256 *h);

/* One-shot digest of a buffer. */
int hash_sha256_hex(const void *data, size_t len, char hex[HASH_SHA256_HEX],
                    struct assay_error *err);

#endif
