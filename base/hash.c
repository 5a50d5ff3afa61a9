/*
 * base/hash.c - SHA-256 through OpenSSL's EVP interface (uses SHA-NI / AVX2 where the
 * CPU has them, several times faster than a portable C version on multi-GB checkpoints).
 */
#include "base/hash.h"

#include <openssl/evp.h>
#include <stdio.h>

int hash_sha256_init(struct hash_sha256 *h, struct assay_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        h->ctx = NULL;
        return err_set(err, ASSAY_EFAIL, "cannot initialise sha256");
    }
    h->ctx = ctx;
    return 0;
}

void hash_sha256_update(struct hash_sha256 *h, const void *data, size_t len)
{
    if (h->ctx && len)
        EVP_DigestUpdate(h->ctx, data, len);
}

void hash_sha256_final_hex(struct hash_sha256 *h, char hex[HASH_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    hex[0] = '\0';
    if (h->ctx && EVP_DigestFinal_ex(h->ctx, md, &n) == 1) {
        for (unsigned int i = 0; i < n && i < HASH_SHA256_BYTES; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    hash_sha256_release(h);
}

void hash_sha256_release(struct hash_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int hash_sha256_hex(const void *data, size_t len, char hex[HASH_SHA256_HEX],
                    struct assay_error *err)
{
    struct hash_sha256 h;
    int rc = hash_sha256_init(&h, err);
    if (rc)
        return rc;
    hash_sha256_update(&h, data, len);
    hash_sha256_final_hex(&h, hex);
    return 0;
}
