/*
 * evals/fmtgrammar.h - the prompt-format grammar of `assay sweep` (issue #8): a format
 * is a point in a product of small axes, each a table of values, and becomes a
 * struct fmt (evals/fmt.h) that the ordinary renderer prints.
 *
 * Axes, in id order (which is also enumeration order, most significant first, so that
 * formats sharing the longest prompt prefix are adjacent):
 *   t  chat template      0 off, 1 Gemma turns
 *   i  instruction line   0 lm-eval's MMLU line, 1 none, 2 "Answer the following ..."
 *   u  casing             0 as written, 1 UPPER, 2 lower (template words only: instruction,
 *                         question prefix, answer prefix; never the subject, data or labels)
 *   n  shots              0 the run's count K (sweep --shots K, else the task's default:
 *                         0 for MMLU as in lm-eval) with the task's sampler, 1 zero-shot,
 *                         2 one shot (task's sampler), 3/4 K shots drawn at random with
 *                         seed S+1 / S+2 (S the run's --seed)
 *   w  spacing            0 "\n\n" after each shot, 1 "\n"
 *   q  question prefix    0 none, 1 "Question: ", 2 "Q: "
 *   l  label style        0 "A.", 1 "(A)", 2 "A)", 3 "1.", 4 "a." (letters stop at
 *                         Z / z; numbers go on in decimal: "9.", "10.", "11.")
 *   p  label/text sep     0 " ", 1 "\t"
 *   c  choice layout      0 one per line, 1 inline after the question
 *   a  answer prefix      0 "\nAnswer:", 1 "\nThe answer is", 2 none (a newline)
 *   o  choice order       cyclic shift 0..3 of the evaluated document's choices
 *
 * Id scheme: one letter and one decimal value per axis in the order above, e.g.
 * "t0i0u0n0w0q0l0p0c0a0o0". The id is derived from the fields only, so it is stable:
 * values are only ever appended to an axis, never reordered, and a new axis would be
 * appended with value 0 meaning the old behaviour (ids without it still parse). Value 0
 * on every axis is lm-eval's default MMLU prompt, byte for byte.
 *
 * Continuations follow the label style: the scored text is target_delimiter + the label
 * as an answer names it: " A" for "A." and "A)", " (A)" for "(A)" (the bracket is part of
 * the label, the trailing "." or ")" of the others is punctuation of the listing), " 1",
 * " 10" (every digit of a number is the label), " a". With no answer prefix the answer
 * starts a new line ("\nA"), and with the chat template the model's turn starts with the
 * label (no leading space).
 *
 * Nothing here allocates: a struct fmtg_fmt holds its strings and its struct fmt points
 * into it, so build it where it will stay (never copy one after fmtg_build).
 */
#ifndef ASSAY_EVALS_FMTGRAMMAR_H
#define ASSAY_EVALS_FMTGRAMMAR_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "evals/fmt.h"

#define FMTG_N_AXES  11
#define FMTG_ID_MAX  48
#define FMTG_VERSION 1 /* stored in sweep configurations */

struct fmtg_spec {
    uint8_t v[FMTG_N_AXES]; /* value index per axis, in id order */
};

/* The axis letters in id order ("tiunwqlpcao") and the number of values of axis a. */
extern const char fmtg_axis_keys[FMTG_N_AXES + 1];
int fmtg_axis_size(int a);
/* Index of the choice-order axis (the least significant). */
#define FMTG_AXIS_ORDER 10

/* Number of formats in the grammar (the product of the axis sizes). */
uint64_t fmtg_count(void);
/* Enumeration: index <-> spec (mixed radix, axis 0 most significant). */
void fmtg_from_index(uint64_t idx, struct fmtg_spec *out);
uint64_t fmtg_index(const struct fmtg_spec *s);
/* The id of a spec into out[FMTG_ID_MAX]. */
void fmtg_id(const struct fmtg_spec *s, char *out);
/* Parse an id: ASSAY_EINVAL with a message naming the bad axis. Axes missing from the
 * id take value 0. */
int fmtg_parse(const char *id, struct fmtg_spec *out, struct assay_error *err);
/* One-line description: "chat off; lm-eval instruction; ...". */
void fmtg_describe(const struct fmtg_spec *s, char *out, size_t n);

/* What the shots axis asks for: shots = -1 for the task's default count; seed_add = 0
 * for the task's own sampler, k > 0 for a random draw seeded with the run's seed + k. */
void fmtg_shots(const struct fmtg_spec *s, int *shots, int *seed_add);

struct fmtg_fmt {
    struct fmt f;
    struct fmtg_spec spec;
    char id[FMTG_ID_MAX];
    char description[160];
    char question_prefix[32];
    char answer_prefix[32];
    char label_sep[8];
};

/* Fill *out (in place; out->f points into *out) for spec s. */
void fmtg_build(const struct fmtg_spec *s, struct fmtg_fmt *out);

/* ---- families: which axes a kind of task varies ---------------------------------------
 *
 * A multiple-choice task varies all 11 axes (FMTG_FAMILY_MC). A generation task
 * (FMTG_FAMILY_GEN, GSM8K) has no choices, so the instruction (its value-0 line is
 * MMLU's), label style, label separator, choice layout and choice order axes stay at
 * value 0 and are not enumerated: chat x casing x shots x spacing x question prefix x
 * answer prefix = 2 x 3 x 5 x 2 x 3 x 3 = 540 formats. Ids are the same 11-axis ids (a
 * GEN id has 0 on the fixed axes), so "q1" means "Question: " in both families; the
 * GEN family's lm-eval default (GSM8K's "Question: ...\nAnswer:") is therefore
 * t0i0u0n0w0q1l0p0c0a0o0, not the all-zero id. Under GEN, value 0 of the instruction
 * axis is "no instruction" (lm-eval's gsm8k has none), answer prefix a2 is a bare
 * newline with the shots' targets right after it, as in the MC family. */
enum fmtg_family {
    FMTG_FAMILY_MC = 0,
    FMTG_FAMILY_GEN = 1,
};

/* Non-zero when axis a is enumerated in family fam. */
int fmtg_family_has_axis(enum fmtg_family fam, int a);
/* Number of formats of the family. */
uint64_t fmtg_family_count(enum fmtg_family fam);
/* The family's lm-eval default (MC: all zero; GEN: q1). */
void fmtg_family_default(enum fmtg_family fam, struct fmtg_spec *out);
/* ASSAY_EINVAL naming the axis when s is not 0 on an axis fam does not vary. */
int fmtg_family_check(enum fmtg_family fam, const struct fmtg_spec *s, struct assay_error *err);
/* fmtg_build / fmtg_describe for a family (FMTG_FAMILY_MC: exactly fmtg_build /
 * fmtg_describe). */
void fmtg_build_family(enum fmtg_family fam, const struct fmtg_spec *s, struct fmtg_fmt *out);
void fmtg_describe_family(enum fmtg_family fam, const struct fmtg_spec *s, char *out, size_t n);
/* fmtg_select within a family: grammar indices (ascending) of the family's formats, all
 * of them or n drawn with the seed, always including the family's default. GEN has no
 * order axis: cyclic is ASSAY_EUSAGE. FMTG_FAMILY_MC is exactly fmtg_select. */
int fmtg_select_family(enum fmtg_family fam, int64_t n, uint64_t seed, int cyclic,
                       uint64_t **idx_out, int64_t *n_out, struct assay_error *err);

/* Choose formats: n <= 0 or n >= the grammar's size gives all of them; otherwise n
 * distinct indices drawn with a seeded generator (splitmix64), always including index 0
 * (lm-eval's default, the reference). cyclic: draw ceil(n / 4) shift-0 formats and take
 * each with all 4 shifts, so the gold answer visits every position equally often.
 * *idx_out (malloc'd, ascending, *n_out entries) belongs to the caller. */
int fmtg_select(int64_t n, uint64_t seed, int cyclic, uint64_t **idx_out, int64_t *n_out,
                struct assay_error *err);

#endif
