/*
 * cli/model.c - see model.h.
 */
#include "cli/model.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "engine/backend.h"
#include "engine/backend_local.h"
#include "engine/backend_rg.h"
#include "engine/ckpt.h"
#include "engine/hf.h"
#include "store/store.h"

/* A directory's cache key: its inode, the total size and the newest mtime of its files
 * (a rewritten shard changes one of them). */
static void dir_key(const char *dir, struct stat *st)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int64_t size = 0;
    struct timespec newest = st->st_mtim;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[PATH_MAX + 256];
        struct stat fs;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(p, &fs) != 0 || !S_ISREG(fs.st_mode))
            continue;
        size += (int64_t)fs.st_size;
        if (fs.st_mtim.tv_sec > newest.tv_sec ||
            (fs.st_mtim.tv_sec == newest.tv_sec && fs.st_mtim.tv_nsec > newest.tv_nsec))
            newest = fs.st_mtim;
    }
    closedir(d);
    st->st_size = (off_t)size;
    st->st_mtim = newest;
}

static int fingerprint(struct cli_ctx *ctx, struct store *s, const char *path, char *fp, size_t n)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        snprintf(real, sizeof(real), "%s", path);
    struct stat st;
    if (stat(real, &st) != 0)
        return err_set_at(&ctx->err, ASSAY_ENOTFOUND, path, 0, "model file does not exist");
    bool is_dir = S_ISDIR(st.st_mode);
    if (is_dir)
        dir_key(real, &st);
    struct store_file_key k = {.path = real, .size = (int64_t)st.st_size,
                               .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL +
                                           st.st_mtim.tv_nsec,
                               .inode = (int64_t)st.st_ino};
    bool found = false;
    int rc = store_lookup_fingerprint(s, &k, fp, n, &found, &ctx->err);
    if (rc || found)
        return rc;
    rc = is_dir ? hf_fingerprint(real, fp, n, &ctx->prog, &ctx->err)
                : ckpt_fingerprint_file(real, fp, n, &ctx->prog, &ctx->err);
    if (rc)
        return rc;
    return store_put_fingerprint(s, &k, fp, &ctx->err);
}

int cli_backend_open(struct cli_ctx *ctx, const struct cli_args *a, struct store *s,
                     struct backend **out, int64_t *model_id_out)
{
    return cli_backend_open_hinted(ctx, a, s, NULL, out, model_id_out);
}

int cli_backend_open_hinted(struct cli_ctx *ctx, const struct cli_args *a, struct store *s,
                            const struct cli_backend_hints *h, struct backend **out,
                            int64_t *model_id_out)
{
    *out = NULL;
    const char *path = cli_get(a, "model");
    if (!path)
        return err_set(&ctx->err, ASSAY_EUSAGE, "--model is required");
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
        return err_set(&ctx->err, ASSAY_EUNSUPPORTED,
                       "remote backends (%s) are not supported yet; give a GGUF file or a "
                       "Hugging Face directory",
                       path);
    struct backend_local_params p;
    backend_local_params_default(&p);
    int64_t v = 0;
    int rc = cli_get_int(a, "threads", 1, 1024, &v, &ctx->err);
    if (rc)
        return rc;
    p.n_threads = (int)v;
    v = 0;
    rc = cli_get_int(a, "ctx", 8, 1 << 20, &v, &ctx->err);
    if (rc)
        return rc;
    p.n_ctx = (int32_t)v;
    if (h && !cli_get(a, "ctx") && h->n_ctx > 0)
        p.n_ctx = h->n_ctx;
    if (h && h->n_seq > 0)
        p.n_seq = h->n_seq;
    p.no_prefix_cache = cli_flag(a, "no-prefix-cache");
    char fp[96] = "";
    bool rgemma = backend_rg_is_dir(path); /* an HF directory of a RecurrentGemma */
    if (s) {
        rc = rgemma ? backend_rg_fingerprint(path, fp, sizeof(fp), &ctx->prog, &ctx->err)
                    : fingerprint(ctx, s, path, fp, sizeof(fp));
        if (rc)
            return rc;
        p.fingerprint = fp;
    }
    rc = rgemma ? backend_rg_open(out, path, &p, &ctx->err)
                : backend_local_open(out, path, &p, &ctx->err);
    if (rc)
        return rc;
    if (s) {
        struct backend_info in;
        backend_info(*out, &in);
        char real[PATH_MAX];
        if (!realpath(path, real))
            snprintf(real, sizeof(real), "%s", path);
        json_t *extra = json_pack("{s:i, s:i, s:b, s:i, s:i}", "n_vocab", (json_int_t)in.n_vocab,
                                  "n_ctx_train", (json_int_t)in.n_ctx_train, "add_bos",
                                  in.add_bos, "bos_id", (json_int_t)in.bos_id, "eos_id",
                                  (json_int_t)in.eos_id);
        char *info_json = extra ? json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(extra);
        struct store_model m = {.fingerprint = in.fingerprint, .path = real, .name = in.name,
                                .architecture = in.architecture, .n_params = in.n_params,
                                .quantization = in.quantization,
                                .context_length = in.n_ctx_train, .file_bytes = in.file_bytes,
                                .info_json = info_json};
        int64_t id = 0;
        rc = store_put_model(s, &m, &id, &ctx->err);
        free(info_json);
        if (rc) {
            backend_free(*out);
            *out = NULL;
            return rc;
        }
        if (model_id_out)
            *model_id_out = id;
    }
    return 0;
}
