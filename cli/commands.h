/*
 * cli/commands.h - the handlers and option tables of the sub-commands, one file each
 * (cli/cmd_<name>.c); the table that lists them is in cli/main.c.
 */
#ifndef ASSAY_CLI_COMMANDS_H
#define ASSAY_CLI_COMMANDS_H

#include "cli/cli.h"

extern const struct cli_opt cmd_runs_opts[];
int cmd_runs(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_models_opts[];
int cmd_models(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_quantize_opts[];
int cmd_quantize(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_convert_opts[];
int cmd_convert(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_bench_opts[];
int cmd_bench(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_tokenize_opts[];
int cmd_tokenize(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_logits_opts[];
int cmd_logits(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_score_opts[];
int cmd_score(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_generate_opts[];
int cmd_generate(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_run_opts[];
int cmd_run(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_tasks_opts[];
int cmd_tasks(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_sweep_opts[];
int cmd_sweep(struct cli_ctx *ctx, const struct cli_args *a);
/* For `assay compare`: print the "sweep" tables (reports/sweepview.h) of the pairs of
 * the comparison JSON whose runs are both sweeps. */
struct json_t;
void cmd_sweep_compare_print(struct json_t *pairs);
extern const struct cli_opt cmd_exec_opts[];
int cmd_exec(struct cli_ctx *ctx, const struct cli_args *a);
/* Prints the sandbox isolation that works here (for exec's and run's --help). */
void cmd_exec_help_extra(FILE *f);
extern const struct cli_opt cmd_datasets_opts[];
int cmd_datasets(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_pii_opts[];
int cmd_pii(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_report_opts[];
int cmd_report(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_compare_opts[];
int cmd_compare(struct cli_ctx *ctx, const struct cli_args *a);
extern const struct cli_opt cmd_compare_logits_opts[];
int cmd_compare_logits(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_memorize_opts[];
int cmd_memorize(struct cli_ctx *ctx, const struct cli_args *a);

extern const struct cli_opt cmd_serve_opts[];
int cmd_serve(struct cli_ctx *ctx, const struct cli_args *a);

#endif
