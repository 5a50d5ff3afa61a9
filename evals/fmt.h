/*
 * evals/fmt.h - prompt formats as values (ARCHITECTURE.md, "Formats are data").
 *
 * A format says how one document becomes text: a description printed once before the
 * shots, the question layout (passage, prefix, suffix, listed choices with labels), the
 * answer prefix, and the delimiters lm-eval puts between a query and its target
 * (target_delimiter, " ") and after each shot (fewshot_delimiter, "\n\n"). The prompt
 * is description + shots + query, where a shot is query + target_delimiter + target +
 * fewshot_delimiter (EVAL-NOTES.md section 1). Each task's default format reproduces
 * lm-evaluation-harness byte for byte; a sweep loops over other values of this struct,
 * and every stored sample records the id of the format that made it.
 *
 * Rendering appends to a caller's struct buf; nothing is owned here.
 */
#ifndef ASSAY_EVALS_FMT_H
#define ASSAY_EVALS_FMT_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"

struct task_doc;

enum fmt_layout {
    FMT_LAYOUT_QA = 0,      /* [preamble][passage+sep][prefix]question[suffix][choices]answer */
    FMT_LAYOUT_PARTIAL = 1, /* Winogrande partial scoring: one context per choice, one
                               continuation shared by all */
    FMT_LAYOUT_MBPP = 2,    /* the MBPP paper's task template ending "[BEGIN]\n" */
};

struct fmt {
    const char *id; /* stored with every sample: "mmlu_default", ... */
    enum fmt_layout layout;
    const char *description;       /* once before the shots; "{subject}" is replaced; "" none */
    const char *preamble;          /* before every query (TruthfulQA's QA primer); "" none */
    const char *passage_sep;       /* after the passage when the document has one (BoolQ) */
    const char *question_prefix;   /* "Question: ", "Q: ", "" */
    const char *question_suffix;   /* "?" for BoolQ, else "" */
    bool strip_question;           /* Python str.strip() of the question (MMLU) */
    const char *choice_labels;     /* "ABCD...": list the choices in the query, one label
                                      character per position; NULL: not listed */
    const char *choice_prefix;     /* before each listed choice: "\n" */
    const char *label_sep;         /* between label and choice text: ". " */
    const char *answer_prefix;     /* "\nAnswer:", "\nA:", "" */
    bool target_is_label;          /* the continuation is the label (" A"), not the text */
    const char *target_delimiter;  /* " " (MBPP: "") */
    const char *fewshot_delimiter; /* "\n\n" */
    /* Sweep grammar fields (evals/fmtgrammar.h); zero in the lm-eval rows above, where
     * they change nothing. */
    const char *label_open;     /* before each listed label: "(" for "(A)"; NULL: "" */
    const char *target_open;    /* around the label when it is the target: " (A)" */
    const char *target_close;   /*   needs "(" and ")"; NULL: "" */
    const char *cont_delimiter; /* before the scored continuation only (shots keep
                                   target_delimiter); NULL: target_delimiter */
    bool chat;                  /* wrap the whole context in Gemma's chat turns */
    int choice_shift;           /* the evaluated document's choices shown rotated: display
                                   position j holds choice (j + shift) mod n; shots unrotated */
    bool label_numbers;         /* the labels are the display positions in decimal, 1 .. 9
                                   10 11 ... without end, listed and scored alike (" 10");
                                   choice_labels then only says the choices are listed */
};

/* The format with this id, or NULL. */
const struct fmt *fmt_find(const char *id);
/* All known formats (for listings): *n_out rows. */
const struct fmt *fmt_all(int *n_out);

/* Append the description with {subject} replaced (subject may be NULL). Without a
 * subject (NULL or ""), " about {subject}" is dropped whole. */
int fmt_render_description(const struct fmt *f, const char *subject, struct buf *out,
                           struct assay_error *err);
/* Append doc_to_text: the query of document d, ending at the answer prefix with no
 * trailing space. For FMT_LAYOUT_PARTIAL, choice selects the context (the query of a
 * shot uses the gold one). */
int fmt_render_query(const struct fmt *f, const struct task_doc *d, int choice, struct buf *out,
                     struct assay_error *err);
/* Append doc_to_target for a shot: the gold label, the gold choice text, the
 * continuation (partial), or the reference answer (generation tasks). */
int fmt_render_target(const struct fmt *f, const struct task_doc *d, struct buf *out,
                      struct assay_error *err);
/* Number of labels f has: strlen(choice_labels), or INT_MAX under label_numbers; 0 when
 * the choices are not listed. A listed document with more choices than this is
 * ASSAY_EINVAL naming the item. */
int fmt_n_labels(const struct fmt *f);
/* Append what is scored for choice i, without the target delimiter: "A", "10", or the
 * text. */
int fmt_render_choice(const struct fmt *f, const struct task_doc *d, int i, struct buf *out,
                      struct assay_error *err);

/* Where choice i of d is displayed (0-based) under the format's choice_shift. */
int fmt_display_pos(const struct fmt *f, const struct task_doc *d, int i);
/* fmt_render_query of the evaluated document: choices rotated by f->choice_shift
 * (fmt_render_query renders shots, unrotated). */
int fmt_render_query_eval(const struct fmt *f, const struct task_doc *d, int choice,
                          struct buf *out, struct assay_error *err);
/* fmt_render_choice of the evaluated document: the label at choice i's display
 * position, wrapped in target_open/target_close. */
int fmt_render_choice_eval(const struct fmt *f, const struct task_doc *d, int i, struct buf *out,
                           struct assay_error *err);

/* Gemma's chat turns around a context when f->chat (sources: the Gemma model card's
 * prompt format and tokenizer_config.json chat_template). */
#define FMT_CHAT_USER  "<start_of_turn>user\n"
#define FMT_CHAT_MODEL "<end_of_turn>\n<start_of_turn>model\n"

/* Python's str.strip() on ASCII and C1/Unicode whitespace: [*s, *s + *len) shrinks. */
void fmt_strip(const char **s, size_t *len);

#endif
