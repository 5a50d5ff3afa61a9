/*
 * tests/reports/test_report.c - the report page: HTML escaping of hostile stored text
 * (script tags, attribute breakouts, invalid UTF-8, control bytes), PII masking with
 * and without --raw, the PII section, published figures matched by model name and task,
 * and the compare-logits section. A store in a temporary folder, no model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "reports/html.h"
#include "reports/logits.h"
#include "reports/published.h"
#include "reports/report.h"
#include "store/store.h"

static void escape_case(const char *in, size_t len, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(rpt_html_escape(&b, in, len), 0);
    if (strcmp(b.data ? b.data : "", want) != 0)
        fail_msg("escape: got '%s', want '%s'", b.data ? b.data : "", want);
    buf_release(&b);
}

#define FFFD "\xEF\xBF\xBD"

static void test_escape(void **state)
{
    (void)state;
    escape_case("plain text", 10, "plain text");
    escape_case("<script>alert(1)</script>", 25, "&lt;script&gt;alert(1)&lt;/script&gt;");
    escape_case("\"><img src=x onerror=alert(1)>", 30,
                "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    escape_case("a & b 'c'", 9, "a &amp; b &#39;c&#39;");
    escape_case("\xff", 1, FFFD);
    escape_case("\xc3(", 2, FFFD "(");                       /* truncated sequence */
    escape_case("\xc0\xaf", 2, FFFD FFFD);                   /* overlong '/' */
    escape_case("\xed\xa0\x80", 3, FFFD FFFD FFFD);          /* a surrogate */
    escape_case("x\x01y\x7f", 4, "x" FFFD "y" FFFD);         /* control bytes */
    escape_case("tab\tnl\n", 7, "tab\tnl\n");
    escape_case("caf\xc3\xa9 \xe4\xb8\xad", 9, "caf\xc3\xa9 \xe4\xb8\xad"); /* valid stays */
    escape_case("\xc2\x85", 2, FFFD); /* C1 control NEL */
    escape_case("end\xe4\xb8", 5, "end" FFFD FFFD); /* cut inside a character */
}

static void test_published_match(void **state)
{
    (void)state;
    char n[64];
    rpt_published_normalize(n, sizeof(n), "/m/gemma-2-9b-Q8_0.gguf");
    assert_string_equal(n, "gemma-2-9b");
    rpt_published_normalize(n, sizeof(n), "Gemma 2 9B");
    assert_string_equal(n, "gemma-2-9b");
    rpt_published_normalize(n, sizeof(n), "gemma_2_9b_it");
    assert_string_equal(n, "gemma-2-9b-it");
    assert_true(rpt_published_model_matches("Gemma 2 9B", NULL, "gemma-2-9b"));
    assert_false(rpt_published_model_matches("gemma-2-9b-it", NULL, "gemma-2-9b"));
    assert_false(rpt_published_model_matches("gemma-2-9b", NULL, "gemma-2-9b-it"));
    assert_true(rpt_published_model_matches(NULL, "/x/gemma-7b.gguf", "gemma-7b"));
    const struct rpt_published *rows[4];
    assert_int_equal(rpt_published_find("gemma-2-9b", NULL, "mmlu", rows, 4), 1);
    assert_float_equal(rows[0]->score, 71.3, 1e-9);
    assert_string_equal(rows[0]->protocol, "5-shot");
    assert_int_equal(rpt_published_find("gemma2-tiny", NULL, "mmlu", rows, 4), 0);
    assert_true(rpt_published_count >= 100);
}

static const char hostile[] =
    "<script>alert(1)</script> \"><img src=x onerror=alert(1)> bad \xff\xfe bytes; "
    "write to john.doe@example.com today, then Qorvath left";

struct fixture {
    char db[1024];
    struct store *s;
    int64_t eval_run, logits_run;
};

static int64_t make_store(struct fixture *f)
{
    const char *dir = tu_tmpdir();
    snprintf(f->db, sizeof(f->db), "%s/r.db", dir);
    struct assay_error e = {0};
    assert_int_equal(store_open(&f->s, f->db, 0, &e), 0);
    struct store_model m = {.fingerprint = "sha256:00ff", .path = "/m/x.gguf",
                            .name = "Gemma 2 9B", .architecture = "gemma2", .n_params = 9,
                            .quantization = "Q8_0", .context_length = 8192, .file_bytes = 1};
    int64_t mid;
    assert_int_equal(store_put_model(f->s, &m, &mid, &e), 0);
    struct store_run_new rn = {.kind = "eval", .model_id = mid, .backend = "local",
                               .config_json = "{\"note\":\"</pre><script>x</script>\"}"};
    assert_int_equal(store_begin_run(f->s, &rn, &f->eval_run, &e), 0);
    struct store_sample smp[3] = {
        {.task = "mmlu_anatomy", .item = "0", .prompt = "Q?", .target = " A", .output = hostile,
         .score = 0, .correct = 0, .data_json = "{\"k\":\"<b>\"}"},
        {.task = "mmlu_anatomy", .item = "1", .prompt = "Q2?", .target = " B", .output = " B",
         .score = 1, .correct = 1},
        {.task = "mmlu_<i>x</i>", .item = "<u>7</u>", .output = "fine", .score = 1, .correct = 1},
    };
    assert_int_equal(store_put_samples(f->s, f->eval_run, smp, 3, &e), 0);
    assert_int_equal(store_put_metric(f->s, f->eval_run, "mmlu", "acc", 0.5, 0.05, 2, &e), 0);
    assert_int_equal(store_put_metric(f->s, f->eval_run, "mmlu_<i>x</i>", "acc", 1, NAN, 1, &e), 0);
    /* the email's span in the stored output, as `assay pii scan --run` records it */
    const char *at = strstr(hostile, "john.doe");
    struct store_pii_finding pf = {.sample_id = 1, .field = "output", .type = "EMAIL_ADDRESS",
                                   .start_byte = at - hostile,
                                   .end_byte = at - hostile + (int64_t)strlen("john.doe@example.com"),
                                   .likelihood = "VERY_LIKELY", .severity = "personal",
                                   .detector = "email", .validated = 0};
    /* a stored finding the default scanner would not make by itself (a bare name): the
     * report must mask it from the stored span alone */
    const char *zeb = strstr(hostile, "Qorvath");
    struct store_pii_finding pf2 = pf;
    pf2.type = "PERSON";
    pf2.start_byte = zeb - hostile;
    pf2.end_byte = zeb - hostile + 7;
    pf2.detector = "person_context";
    struct store_pii_finding both[2] = {pf2, pf}; /* out of order on purpose */
    assert_int_equal(store_put_pii_findings(f->s, f->eval_run, both, 2, &e), 0);
    assert_int_equal(store_finish_run(f->s, f->eval_run, STORE_RUN_DONE, NULL, &e), 0);
    return 0;
}

static char *write_report(struct fixture *f, const int64_t *ids, size_t n, bool raw)
{
    struct rpt_options o = {.raw = raw, .samples_per_task = 10, .generated_at = "T"};
    struct buf page;
    buf_init(&page, 0);
    struct assay_error e = {0};
    int rc = rpt_report_write(&page, f->s, ids, n, &o, &e);
    if (rc)
        fail_msg("report: %s", e.msg);
    char *s = buf_detach(&page, NULL);
    assert_true(utf8_valid(s, strlen(s), NULL));
    return s;
}

static void test_report_escapes_and_masks(void **state)
{
    (void)state;
    struct fixture f = {0};
    make_store(&f);
    char *html = write_report(&f, &f.eval_run, 1, false);
    /* no markup from stored text survives: it is all text */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<i>x"));
    assert_null(strstr(html, "<u>7"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(html, "bad " FFFD FFFD " bytes"));
    assert_non_null(strstr(html, "mmlu_&lt;i&gt;x&lt;/i&gt;"));
    assert_non_null(strstr(html, "&lt;/pre&gt;&lt;script&gt;x")); /* the configuration */
    /* masked: the address never appears, its label does (samples and PII examples) */
    assert_null(strstr(html, "john.doe"));
    assert_non_null(strstr(html, "[EMAIL_ADDRESS]"));
    assert_null(strstr(html, "Qorvath"));
    assert_non_null(strstr(html, "then [PERSON] left"));
    assert_non_null(strstr(html, "<mark>[PERSON]</mark>"));
    assert_non_null(strstr(html, "<mark>[EMAIL_ADDRESS]</mark>"));
    /* the PII section counts them */
    assert_non_null(strstr(html, "PII findings"));
    assert_non_null(strstr(html, "<td>EMAIL_ADDRESS</td><td>personal</td><td class=\"n\">1</td>"));
    /* metadata and the published figure for gemma-2-9b mmlu, with its protocol */
    assert_non_null(strstr(html, "Gemma 2 9B"));
    assert_non_null(strstr(html, "sha256:00ff"));
    assert_non_null(strstr(html, ">71.3<"));
    assert_non_null(strstr(html, "5-shot"));
    /* no way to reach the network */
    assert_null(strstr(html, "http://w"));
    assert_null(strstr(html, "https:"));
    assert_null(strstr(html, "src=\""));
    assert_null(strstr(html, "href=\"http"));
    free(html);

    html = write_report(&f, &f.eval_run, 1, true);
    assert_non_null(strstr(html, "john.doe@example.com"));
    assert_non_null(strstr(html, "<mark>Qorvath</mark>"));
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "PII masking is off"));
    free(html);
    store_close(f.s);
}

static void test_report_logits_section(void **state)
{
    (void)state;
    struct fixture f = {0};
    make_store(&f);
    struct assay_error e = {0};
    struct store_run_new rn = {.kind = "compare-logits", .backend = "local",
                               .config_json = "{\"base\":\"/m/<b>.gguf\",\"text\":\"t.txt\"}"};
    assert_int_equal(store_begin_run(f.s, &rn, &f.logits_run, &e), 0);
    struct cmp_logit_pos pos[3] = {
        {.kl = 0.1, .top1_base = 1, .top1_model = 1, .logp_base = -1, .logp_model = -2},
        {.kl = 0.3, .top1_base = 1, .top1_model = 2, .logp_base = -1, .logp_model = -1},
        {.kl = 0.2, .top1_base = 0, .top1_model = 0, .logp_base = -2, .logp_model = -3},
    };
    struct rpt_logits_window w;
    char *dj = rpt_logits_window_json(&w, 0, 0, pos, 3, &e);
    assert_non_null(dj);
    assert_float_equal(w.kl_mean, 0.2, 1e-12);
    assert_int_equal(w.top1_agree, 2);
    assert_float_equal(w.nll_base, 4, 1e-12);
    struct store_sample smp = {.task = RPT_LOGITS_TASK, .item = "0", .score = w.kl_mean,
                               .correct = -1, .data_json = dj};
    assert_int_equal(store_put_sample(f.s, f.logits_run, &smp, &e), 0);
    struct rpt_logits_acc acc;
    rpt_logits_acc_init(&acc);
    assert_int_equal(rpt_logits_acc_add(&acc, dj, "sample 1", &e), 0);
    assert_int_equal(rpt_logits_acc_add(&acc, "{\"x\":1}", "sample 2", &e), ASSAY_EINVAL);
    struct rpt_logits_agg agg;
    rpt_logits_acc_finish(&acc, &agg);
    assert_int_equal(agg.n_positions, 3);
    assert_float_equal(agg.kl.mean, 0.2, 1e-9);
    assert_float_equal(agg.kl.median, 0.2, 1e-9);
    assert_float_equal(agg.top1_agree, 2.0 / 3, 1e-12);
    assert_float_equal(agg.ppl_base, exp(4.0 / 3), 1e-9);
    assert_float_equal(agg.ppl_model, exp(6.0 / 3), 1e-9);
    assert_float_equal(agg.kl_stderr, 0.1 / sqrt(3), 1e-9);
    rpt_logits_acc_release(&acc);
    free(dj);
    assert_int_equal(store_put_metric(f.s, f.logits_run, RPT_LOGITS_TASK, "kl_mean", agg.kl.mean,
                                      agg.kl_stderr, 3, &e),
                     0);
    assert_int_equal(store_finish_run(f.s, f.logits_run, STORE_RUN_DONE, NULL, &e), 0);
    int64_t ids[2] = {f.logits_run, f.eval_run};
    char *html = write_report(&f, ids, 2, false);
    assert_non_null(strstr(html, "Logit comparison"));
    assert_non_null(strstr(html, "/m/&lt;b&gt;.gguf"));
    assert_non_null(strstr(html, "mean KL(base || model), nats</td><td class=\"n\">0.20000"));
    assert_non_null(strstr(html, "href=\"#run-1\""));
    assert_null(strstr(html, "<b>.gguf"));
    free(html);
    /* a missing run is an error naming it */
    int64_t missing = 99;
    struct rpt_options o = {.samples_per_task = 10};
    struct buf page;
    buf_init(&page, 0);
    err_clear(&e);
    assert_int_equal(rpt_report_write(&page, f.s, &missing, 1, &o, &e), ASSAY_ENOTFOUND);
    buf_release(&page);
    store_close(f.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_published_match),
        cmocka_unit_test(test_report_escapes_and_masks),
        cmocka_unit_test(test_report_logits_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
