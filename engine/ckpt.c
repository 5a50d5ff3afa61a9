/*
 * engine/ckpt.c - checkpoint descriptions and fingerprints; see ckpt.h.
 */
#include "engine/ckpt.h"

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "engine/gguf.h"
#include "engine/quant.h"

/* llama.cpp's enum llama_ftype (include/llama.h): the value stored in general.file_type. */
static const struct {
    int64_t id;
    const char *name;
} file_types[] = {
    {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
    {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
    {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
    {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
    {23, "IQ3_XXS"}, {24, "IQ1_S"}, {25, "IQ4_NL"}, {26, "IQ3_S"}, {27, "IQ3_M"},
    {28, "IQ2_S"},  {29, "IQ2_M"},  {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
};

const char *ckpt_file_type_name(int64_t file_type)
{
    for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
        if (file_types[i].id == file_type)
            return file_types[i].name;
    return NULL;
}

static void copy_str(char *dst, size_t n, const char *src, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void ckpt_describe_gguf(const struct gguf *g, struct ckpt_info *out)
{
    memset(out, 0, sizeof(*out));
    out->file_type = -1;
    out->file_bytes = (int64_t)gguf_file_size(g);
    out->gguf_version = gguf_version(g);
    const char *s;
    size_t len;
    if (gguf_get_str(g, "general.architecture", &s, &len, NULL) == 0)
        copy_str(out->architecture, sizeof(out->architecture), s, len);
    if (gguf_get_str(g, "general.name", &s, &len, NULL) == 0) {
        copy_str(out->name, sizeof(out->name), s, len);
    } else {
        const char *path = gguf_path(g);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        copy_str(out->name, sizeof(out->name), base, strlen(base));
    }
    int64_t ft;
    if (gguf_get_i64(g, "general.file_type", &ft, NULL) == 0)
        out->file_type = ft;
    if (out->architecture[0]) {
        char key[96];
        snprintf(key, sizeof(key), "%s.context_length", out->architecture);
        int64_t cl;
        if (gguf_get_i64(g, key, &cl, NULL) == 0)
            out->context_length = cl;
    }
    int et;
    uint64_t n;
    if (gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, NULL, NULL) == 0)
        out->n_vocab = (int64_t)n;
    size_t nt = gguf_n_tensors(g);
    out->n_tensors = (int64_t)nt;
    int64_t best_bytes = -1;
    int best_type = -1;
    for (size_t i = 0; i < nt; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(g, i);
        out->n_params += t->n_elem;
        if (t->type >= 0 && t->type < CKPT_MAX_TYPES) {
            out->type_count[t->type]++;
            out->type_bytes[t->type] += (int64_t)t->n_bytes;
        }
    }
    for (int t = 0; t < CKPT_MAX_TYPES; t++)
        if (out->type_count[t] && out->type_bytes[t] > best_bytes) {
            best_bytes = out->type_bytes[t];
            best_type = t;
        }
    const char *name = ckpt_file_type_name(out->file_type);
    if (name) {
        snprintf(out->quantization, sizeof(out->quantization), "%s", name);
    } else if (best_type >= 0) {
        const struct quant_traits *tr = quant_traits_of(best_type);
        snprintf(out->quantization, sizeof(out->quantization), "%s", tr ? tr->name : "unknown");
    }
}

int ckpt_fingerprint_file(const char *path, char *out, size_t n, const struct progress *prog,
                          struct assay_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_at(err, errno == ENOENT ? ASSAY_ENOTFOUND : ASSAY_EIO, path, 0,
                          "cannot open: %s", strerror(errno));
    struct stat st;
    int64_t total = fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
    struct hash_sha256 h;
    int rc = hash_sha256_init(&h, err);
    if (rc) {
        close(fd);
        return rc;
    }
    size_t cap = (size_t)4 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        rc = err_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    int64_t done = 0;
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = err_set_at(err, ASSAY_EIO, path, 0, "read failed: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        hash_sha256_update(&h, buf, (size_t)r);
        done += r;
        progress_report(prog, done, total, "fingerprint");
    }
    char hex[HASH_SHA256_HEX];
    hash_sha256_final_hex(&h, hex);
    snprintf(out, n, "sha256:%s", hex);
out:
    hash_sha256_release(&h);
    free(buf);
    close(fd);
    return rc;
}
