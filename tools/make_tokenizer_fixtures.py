#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# make_tokenizer_fixtures.py: trains vlart's small test tokenizers and writes the ids
# the Hugging Face / SentencePiece / openpi references give for them.
#
# Run from the repository root with the reference environment:
#   /work/pyref/bin/python tools/make_tokenizer_fixtures.py
# (needs tokenizers 0.22.2, transformers 5.5.4, sentencepiece 0.2.3, numpy). Outputs:
#   assets/tokenizers/xvla_tiny/tokenizer.json              byte-level BPE configured like
#       BART/Florence-2 (X-VLA), merges written as "a b" strings
#   assets/tokenizers/xvla_tiny_pair_merges/tokenizer.json  the same, merges as ["a", "b"]
#   assets/tokenizers/paligemma_tiny/tokenizer.model        SentencePiece BPE configured like
#       Gemma/PaliGemma (pad 0, eos 1, bos 2, unk 3, byte_fallback, split_digits, no dummy
#       prefix, identity normalisation, "\n" as a user-defined piece)
#   tests/text/data/bpe_flags_{a,b}.json   small BPE variants exercising the options the
#       BART file does not use (unk_token, fuse_unk, ignore_merges, add_prefix_space,
#       use_regex=false, added-token flags, Template/Sequence post-processors)
#   tests/text/data/bpe_expected.json, bpe_flags_expected.json, sentencepiece_expected.json,
#   paligemma_prompt_expected.json
# Training is deterministic (single thread); regenerating gives the same files.
#
# Optional, for the real tokenizers (not committed; the C++ tests skip without them):
#   --gemma-model PATH    Gemma's tokenizer.model (e.g. maxtext/assets/tokenizers/tokenizer.gemma
#                         from the `maxtext` wheel on PyPI; PaliGemma's adds <loc>/<seg> pieces)
#   --gpt2-tiktoken PATH  GPT-2's BPE ranks (whisper/assets/gpt2.tiktoken from the
#                         `openai-whisper` sdist); converted to a byte-level BPE tokenizer.json
#                         written to --real-out (BART uses GPT-2's merges with other ids)
#   --real-out DIR        where the converted GPT-2 tokenizer.json goes (default /tmp/vlart_real)
# These write tests/text/data/real_expected.json; run the C++ tests with
#   VLART_GEMMA_TOKENIZER=PATH VLART_GPT2_TOKENIZER_JSON=DIR/gpt2_tokenizer.json
#
# Sources of the corpus: tests/text/data/libero_instructions.tsv (LIBERO's 130 task
# instructions) and tests/text/data/robot_instructions.txt; the awkward Unicode cases
# are listed below.
import argparse
import base64
import copy
import hashlib
import io
import json
import logging
import os
import random
import sys
import unicodedata

import numpy as np
import sentencepiece as spm
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "text", "data")
ASSETS = os.path.join(ROOT, "assets", "tokenizers")

XVLA_MAX_LENGTH = 50  # the X-VLA processor's max_length
SHORT_MAX_LENGTH = 8  # a second length that truncates most instructions


# ----------------------------------------------------------------------------- corpus
def read_corpus():
    libero = []
    with open(os.path.join(DATA, "libero_instructions.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            libero.append(line.rstrip("\n").split("\t", 1)[1])
    robot = []
    with open(os.path.join(DATA, "robot_instructions.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            robot.append(line.rstrip("\n"))
    return libero, robot


def long_text():
    """A deterministic ~5000-character string mixing words, digits, Unicode and spaces."""
    rng = random.Random(1234)
    words = ["pick", "up", "the", "black", "bowl", "on", "plate", "and", "place", "it", "ramekin",
             "12345", "3.14", "don't", "I'LL", "naïve", "café", "日本語", "机器人", "مرحبا", "שלום",
             "😀", "👍🏽", "👨‍👩‍👧", "<s>", "<loc_1>", "\t", "\n", "  ", "\u00a0", "_", "!?", "—"]
    parts = []
    total = 0
    while total < 5000:
        w = rng.choice(words)
        sep = rng.choice([" ", " ", " ", "", "  ", "\n"])
        parts.append(w + sep)
        total += len(w) + len(sep)
    return "".join(parts)[:5000]


def awkward_cases():
    nfc = unicodedata.normalize("NFC", "café naïve résumé Åström")
    nfd = unicodedata.normalize("NFD", nfc)
    return [
        "",
        " ",
        "   ",
        "\t",
        "\n",
        "a",
        "pick up the bowl",
        " pick up the bowl",
        "pick up the bowl ",
        "  pick   up  the    bowl  ",
        "pick\tup\tthe\tbowl",
        "pick up\nthe bowl\r\nand place it\r on the plate",
        "line1\n\nline2\n\n\nline3",
        "tab then space\t x",
        "spaces before newline   \nnext",
        "don't can't won't I'm you're we've they'll she'd it's",
        "DON'T I'LL YOU'RE WE'VE IT'S",
        "'s 't 're 've 'm 'll 'd",
        "''s quote's 'twas rock'n'roll",
        "123 4567 89012345 3.14159 -2.5e10 1,000,000",
        "route 66 and 7eleven x2 2x",
        "①②③ ⅫⅣ ½ ¾ ²³ ٣٤٥ ४५६",
        "😀 👍🏽 👩🏿‍🔬 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🤖🦾",
        "robot🤖arm",
        "日本語のテキスト 机器人抓取杯子 한국어 문장",
        "مرحبا بالعالم שלום עולם",
        "mixed العربية and עברית with English",
        nfc,
        nfd,
        "e\u0301 a\u0308 n\u0303 combining\u0336strike",
        "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom",
        "nbsp\u00a0here thin\u2009space em\u2003space ideographic\u3000space",
        "narrow\u202fnbsp figure\u2007space ogham\u1680mark line\u2028sep para\u2029sep",
        "next\u0085line and \x1c\x1d\x1e\x1f separators",
        "\x0b\x0c vertical tab and form feed",
        "control\x01\x02\x7f chars",
        "<s>",
        "</s>",
        "<pad><unk>",
        "<s>pick up the bowl</s>",
        "pick <s> up </s> the <pad> bowl <unk>",
        "<loc_0><loc_1>",
        "<loc_0> <loc_1> <loc_12> <loc_999>",
        "the cup at <loc_10><loc_20><loc_30><loc_40>",
        "<od>find the bowl</od> <ocr>",
        "<mask> fill <mask>",
        "a<mask>b  <mask>  c",
        "<s<s>> <<loc_0>> <loc_0 <loc_>",
        "Task: pick up the bowl, State: 128 127 0 255;\nAction: ",
        # Added-token flags of the bpe_flags variants (single_word, lstrip, rstrip, overlaps).
        "the robot arm moves; a robot armchair; robot arm",
        "[GRIP] close [GRIP]   then\t[GRIP]\nopen",
        "<sep>   next <sep>\t\tend<sep>",
        "bowls bowl bowl_ _bowl bowl. (bowl) bowlbowl",
        "<loc_10> <loc_1>0 <loc_100> <loc_<loc_1>>",
        "  <mask>  <sep>  <mask>",
        "emoji at end 🎉",
        "ﬁ ligature ﬀ Ⅸ ǅ",
        "Ⓐⓑⓒ 🅐🅑 squared 🄰🄱",
        "x" * 300,
        "ab" * 200,
        "!!!???...;;;:::",
        "a'b'c'd'e",
        "____under_scores____",
        long_text(),
    ]


# ------------------------------------------------------------------------ BPE (BART)
FLORENCE_TOKENS = ["<od>", "</od>", "<ocr>", "</ocr>"] + [f"<loc_{i}>" for i in range(64)] + [
    "<cap>", "</cap>", "<ncap>", "</ncap>", "<poly>", "</poly>", "<sep>", "<and>"]


def train_bpe(corpus, vocab_size, full_alphabet=True):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=1, show_progress=False,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if full_alphabet else [])
    tok.train_from_iterator(corpus, trainer)
    return tok


def bart_like_json(tok):
    """tokenizer.json shaped like facebook/bart-large's (+ Florence-2's added tokens)."""
    tok = Tokenizer.from_str(tok.to_str())
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in FLORENCE_TOKENS])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                      add_prefix_space=False)
    j = json.loads(tok.to_str())
    # BART's converted file: <s> <pad> </s> <unk> are special and normalized=true.
    for t in j["added_tokens"]:
        if t["content"] in ("<s>", "<pad>", "</s>", "<unk>"):
            t["normalized"] = True
    j["model"]["continuing_subword_prefix"] = ""
    j["model"]["end_of_word_suffix"] = ""
    j["model"]["unk_token"] = None
    j["model"]["fuse_unk"] = False
    j["model"]["byte_fallback"] = False
    return j


def with_merge_format(j, pairs):
    j = copy.deepcopy(j)
    merges = j["model"]["merges"]
    if pairs:
        j["model"]["merges"] = [m.split(" ") if isinstance(m, str) else m for m in merges]
    else:
        j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in merges]
    return j


def flags_variant(base, variant):
    j = copy.deepcopy(base)
    extra = [
        {"content": "robot arm", "single_word": True, "lstrip": False, "rstrip": False, "normalized": True,
         "special": False},
        {"content": "<sep>", "single_word": False, "lstrip": False, "rstrip": True, "normalized": False,
         "special": True},
        {"content": "[GRIP]", "single_word": False, "lstrip": True, "rstrip": True, "normalized": True,
         "special": False},
        {"content": "bowl", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False,
         "special": False},
        {"content": "<loc_1>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True},
        {"content": "<loc_10>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True},
    ]
    for t in extra:
        t["id"] = 0  # `tokenizers` assigns the real id
    j["added_tokens"] = j["added_tokens"] + extra
    if variant == "a":
        j["model"]["unk_token"] = "<unk>"
        j["model"]["fuse_unk"] = True
        j["model"]["ignore_merges"] = True
        j["pre_tokenizer"]["add_prefix_space"] = True
        j["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "<pad>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                               "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
                               "<pad>": {"id": "<pad>", "ids": [1], "tokens": ["<pad>"]}}}
    else:
        j["model"]["unk_token"] = None
        j["model"]["fuse_unk"] = False
        j["pre_tokenizer"]["use_regex"] = False
        j["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]}]}
        j["decoder"] = None
    # Round-trip through `tokenizers` so ids are the ones it assigns.
    return json.loads(Tokenizer.from_str(json.dumps(j)).to_str())


def write_json(path, obj, compact=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def padded(ids, mask, pad_id):
    """(ids before padding, number of mask ones), checking the padding is at the right end."""
    n = sum(mask)
    assert mask == [1] * n + [0] * (len(mask) - n), mask
    assert ids[n:] == [pad_id] * (len(ids) - n), ids
    return ids[:n], n


def decode_fields(entry, text, decoded, decoded_skip):
    """Decoded text is stored only where it differs from the input (keeps the data small)."""
    if decoded != text:
        entry["decode"] = decoded
    if decoded_skip != text:
        entry["decode_skip_special"] = decoded_skip


def bpe_expectations(tokenizer_paths, cases):
    """Ids from transformers (called as the X-VLA processor does) and from `tokenizers`."""
    from transformers import BartTokenizerFast
    main = tokenizer_paths[0]
    hf = [BartTokenizerFast(tokenizer_file=p) for p in tokenizer_paths]
    # The from_pretrained path rebuilds the backend from vocab/merges in transformers 5.
    pretrained_dir = os.path.join("/tmp", "vlart_bart_pretrained")
    os.makedirs(pretrained_dir, exist_ok=True)
    with open(main, encoding="utf-8") as f, open(os.path.join(pretrained_dir, "tokenizer.json"), "w") as g:
        g.write(f.read())
    hf_pretrained = BartTokenizerFast.from_pretrained(pretrained_dir)
    raw = [Tokenizer.from_file(p) for p in tokenizer_paths]
    out = []
    for text in cases:
        entry = {}
        for key, max_length in (("xvla", XVLA_MAX_LENGTH), ("short", SHORT_MAX_LENGTH)):
            results = []
            for t in hf + [hf_pretrained]:
                r = t([text], padding="max_length", max_length=max_length, truncation=True)
                results.append((r["input_ids"][0], r["attention_mask"][0]))
            assert all(r == results[0] for r in results), f"transformers paths disagree on {text!r}"
            full = hf[0]([text])["input_ids"][0]
            assert len(results[0][0]) == max(max_length, len(full) if len(full) < max_length else max_length)
            ids, n = padded(results[0][0], results[0][1], hf[0].pad_token_id)
            entry[key] = {"ids": ids, "mask_ones": n, "length": len(results[0][0]),
                          "truncated": len(full) > max_length}
        plain = [r.encode(text).ids for r in raw]
        no_special = [r.encode(text, add_special_tokens=False).ids for r in raw]
        assert all(p == plain[0] for p in plain) and all(p == no_special[0] for p in no_special)
        assert plain[0] == hf[0]([text])["input_ids"][0], f"tokenizers vs transformers on {text!r}"
        entry["ids"] = plain[0]
        if len(text) < 400:
            entry["ids_no_special"] = no_special[0]
        decode_fields(entry, text, raw[0].decode(plain[0], skip_special_tokens=False),
                      raw[0].decode(plain[0], skip_special_tokens=True))
        out.append(entry)
    return out


def flags_expectations(path, cases):
    t = Tokenizer.from_file(path)
    out = []
    for text in cases:
        entry = {}
        if len(text) > 1500:  # keep the file small: the first 1500 characters (code points)
            text = text[:1500]
            entry["prefix_chars"] = 1500
        ids = t.encode(text).ids
        entry["ids"] = ids
        if len(text) < 400:  # the long text's copy would double the file for little gain
            entry["ids_no_special"] = t.encode(text, add_special_tokens=False).ids
        decode_fields(entry, text, t.decode(ids, skip_special_tokens=False), t.decode(ids, skip_special_tokens=True))
        out.append(entry)
    return out


# ------------------------------------------------------------------- SentencePiece
# Gemma's trainer settings (read from its tokenizer.model): BPE, identity normaliser,
# add_dummy_prefix false, remove_extra_whitespaces false, split_digits, byte_fallback,
# allow_whitespace_only_pieces, user-defined "\n" and runs of "▁", pad/eos/bos/unk 0..3.
GEMMA_LIKE_USER_SYMBOLS = ["<mask>", "<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "▁▁", "▁▁▁", "▁▁▁▁",
                           "<loc0000>", "<loc0001>", "<loc0255>", "<seg000>"]


def train_sentencepiece(corpus):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, model_type="bpe", vocab_size=1200,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", byte_fallback=True, split_digits=True, add_dummy_prefix=False,
        normalization_rule_name="identity", remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        split_by_whitespace=True, split_by_unicode_script=True, split_by_number=True,
        max_sentencepiece_length=16, character_coverage=1.0, hard_vocab_limit=False,
        user_defined_symbols=GEMMA_LIKE_USER_SYMBOLS, num_threads=1, minloglevel=2)
    return model.getvalue()


def sp_expectations(sp, cases):
    out = []
    for text in cases:
        ids = sp.encode(text)
        bos_eos = sp.encode(text, add_bos=True, add_eos=True)
        assert bos_eos == [sp.bos_id()] + ids + [sp.eos_id()]
        entry = {"ids": ids}
        if sp.decode(ids) != text:
            entry["decode"] = sp.decode(ids)
        out.append(entry)
    return out


# ------------------------------------------------------------------------- openpi
def openpi_tokenize(sp, prompt, max_len, state=None):
    """openpi PaligemmaTokenizer.tokenize (src/openpi/models/tokenizer.py, HEAD 15a9616a)."""
    cleaned_text = prompt.strip().replace("_", " ").replace("\n", " ")
    if state is not None:
        discretized_state = np.digitize(state, bins=np.linspace(-1, 1, 256 + 1)[:-1]) - 1
        state_str = " ".join(map(str, discretized_state))
        full_prompt = f"Task: {cleaned_text}, State: {state_str};\nAction: "
        tokens = sp.encode(full_prompt, add_bos=True)
    else:
        tokens = sp.encode(cleaned_text, add_bos=True) + sp.encode("\n")
    tokens_len = len(tokens)
    warning = ""
    if tokens_len < max_len:
        padding = [False] * (max_len - tokens_len)
        mask = [True] * tokens_len + padding
        tokens = tokens + padding
    else:
        if len(tokens) > max_len:
            warning = (f"Token length ({len(tokens)}) exceeds max length ({max_len}), truncating. "
                       "Consider increasing the `max_token_len` in your model config if this happens frequently.")
        tokens = tokens[:max_len]
        mask = [True] * max_len
    return np.asarray(tokens), np.asarray(mask), warning


def state_cases():
    rng = np.random.default_rng(7)
    edges = np.array([-1.0, -1.0 + 1 / 128, 0.0, 1 / 128, 0.9921875, 1.0, -0.5, 0.5], dtype=np.float64)
    return [
        ("libero_8d_f32", rng.uniform(-1, 1, 8).astype(np.float32)),
        ("bin_edges_f64", edges),
        ("just_below_edges_f64", np.nextafter(edges, -np.inf)),
        ("just_above_edges_f64", np.nextafter(edges, np.inf)),
        ("out_of_range_f64", np.array([-1.5, -1.0000001, 1.0000001, 3.0, -100.0, 100.0])),
        ("f32_edges", np.array([-1.0, 0.99, 0.9921875, 0.9921874, -0.9921875, 1e-8, -1e-8], dtype=np.float32)),
        ("wide_32d_f32", rng.normal(0, 0.7, 32).astype(np.float32)),
        ("empty", np.zeros(0, dtype=np.float32)),
    ]


def paligemma_expectations(sp, prompts):
    out = {"pi0": [], "pi05": [], "clean": []}
    for prompt in prompts:
        out["clean"].append({"prompt": prompt,
                             "cleaned": prompt.strip().replace("_", " ").replace("\n", " ")})
        for max_len in (48, 12):
            ids, mask, warning = openpi_tokenize(sp, prompt, max_len)
            ids, n = padded(ids.tolist(), [int(m) for m in mask], 0)
            out["pi0"].append({"prompt": prompt, "max_len": max_len, "ids": ids, "mask_ones": n,
                               "warning": warning})
    for name, state in state_cases():
        for prompt in prompts[:6] + ["pick up the black bowl between the plate and the ramekin and place it on "
                                     "the plate"]:
            for max_len in (200, 24):
                ids, mask, warning = openpi_tokenize(sp, prompt, max_len, state=state)
                out["pi05"].append({
                    "prompt": prompt, "state_name": name, "state": [float(x) for x in state],
                    "state_dtype": str(state.dtype), "max_len": max_len,
                    "digitized": (np.digitize(state, bins=np.linspace(-1, 1, 257)[:-1]) - 1).tolist(),
                    "ids": padded(ids.tolist(), [int(m) for m in mask], 0)[0], "warning": warning})
    return out


# ------------------------------------------------------------------ real tokenizers
def bytes_to_unicode():
    """GPT-2's byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def gpt2_tokenizer_from_tiktoken(path, out_path):
    """GPT-2's byte-level BPE (ranks = ids) as a tokenizer.json.

    A token of rank r is reachable by merging two lower-ranked tokens l + r'; every
    such split becomes a merge of rank r (ordered by the ranks of its parts), the
    usual tiktoken -> tokenizers conversion."""
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    to_char = bytes_to_unicode()
    text = lambda b: "".join(to_char[x] for x in b)  # noqa: E731
    vocab = {text(t): r for t, r in ranks.items()}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        local = [(token[:i], token[i:]) for i in range(1, len(token)) if token[:i] in ranks and token[i:] in ranks]
        local.sort(key=lambda lr: (ranks[lr[0]], ranks[lr[1]]))
        merges.extend((text(a), text(b)) for a, b in local)
    tok = Tokenizer(models.BPE(vocab, merges, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", normalized=False, special=True)])
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    tok.save(out_path)
    return out_path


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemma-model")
    ap.add_argument("--gpt2-tiktoken")
    ap.add_argument("--real-out", default="/tmp/vlart_real")
    args = ap.parse_args()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    os.environ.setdefault("RAYON_NUM_THREADS", "1")

    libero, robot = read_corpus()
    libero_unique = list(dict.fromkeys(libero))
    awkward = awkward_cases()
    corpus = libero + robot + [c for c in awkward if len(c) < 400]
    cases = list(dict.fromkeys(libero_unique + robot + awkward))
    print(f"corpus: {len(libero)} LIBERO instructions ({len(libero_unique)} unique), {len(robot)} other; "
          f"{len(cases)} test strings")

    write_json(os.path.join(DATA, "cases.json"), cases, compact=True)

    # Byte-level BPE like BART / Florence-2.
    tok = train_bpe(corpus, vocab_size=3000)
    base = bart_like_json(tok)
    paths = []
    for name, pairs in (("xvla_tiny", False), ("xvla_tiny_pair_merges", True)):
        path = os.path.join(ASSETS, name, "tokenizer.json")
        write_json(path, with_merge_format(base, pairs), compact=True)
        paths.append(path)
    print(f"BPE vocab {len(base['model']['vocab'])}, merges {len(base['model']['merges'])}, "
          f"added {len(base['added_tokens'])}")
    expected = bpe_expectations(paths, cases)
    write_json(os.path.join(DATA, "bpe_expected.json"), {
        "tokenizers": [os.path.relpath(p, ROOT) for p in paths], "xvla_max_length": XVLA_MAX_LENGTH,
        "short_max_length": SHORT_MAX_LENGTH, "pad_id": 1, "cases": expected}, compact=True)

    # Flag variants on a small vocabulary without the full byte alphabet.
    small = bart_like_json(train_bpe(corpus, vocab_size=400, full_alphabet=False))
    flags = {}
    for variant in ("a", "b"):
        path = os.path.join(DATA, f"bpe_flags_{variant}.json")
        write_json(path, flags_variant(small, variant), compact=True)
        flags[variant] = flags_expectations(path, cases)
    write_json(os.path.join(DATA, "bpe_flags_expected.json"), flags, compact=True)

    # SentencePiece like Gemma.
    proto = train_sentencepiece(corpus)
    sp_path = os.path.join(ASSETS, "paligemma_tiny", "tokenizer.model")
    os.makedirs(os.path.dirname(sp_path), exist_ok=True)
    with open(sp_path, "wb") as f:
        f.write(proto)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    print(f"SentencePiece vocab {sp.get_piece_size()}")
    write_json(os.path.join(DATA, "sentencepiece_expected.json"), {
        "model": os.path.relpath(sp_path, ROOT), "vocab_size": sp.get_piece_size(),
        "special": {"pad": sp.pad_id(), "eos": sp.eos_id(), "bos": sp.bos_id(), "unk": sp.unk_id()},
        "cases": sp_expectations(sp, cases)}, compact=True)
    prompts = libero_unique[:40] + robot + [c for c in awkward_cases() if len(c) < 400]
    write_json(os.path.join(DATA, "paligemma_prompt_expected.json"),
               paligemma_expectations(sp, list(dict.fromkeys(prompts))), compact=True)

    if args.gemma_model or args.gpt2_tiktoken:
        real = {}
        real_cases = [c for c in libero_unique + robot + awkward_cases() if len(c) < 400]
        if args.gemma_model:
            g = spm.SentencePieceProcessor(model_file=args.gemma_model)
            real["gemma"] = {"sha256": sha256(args.gemma_model), "vocab_size": g.get_piece_size(),
                             "cases": [{"text": c, "ids": g.encode(c)} for c in real_cases],
                             "pi0": [{"prompt": p, "ids": openpi_tokenize(g, p, 48)[0].tolist(),
                                      "mask": [int(m) for m in openpi_tokenize(g, p, 48)[1]]}
                                     for p in libero_unique]}
        if args.gpt2_tiktoken:
            path = gpt2_tokenizer_from_tiktoken(args.gpt2_tiktoken, os.path.join(args.real_out,
                                                                                 "gpt2_tokenizer.json"))
            t = Tokenizer.from_file(path)
            real["gpt2"] = {"sha256": sha256(path), "vocab_size": t.get_vocab_size(),
                            "cases": [{"text": c, "ids": t.encode(c).ids} for c in real_cases]}
            print(f"wrote {path}")
        write_json(os.path.join(DATA, "real_expected.json"), real, compact=True)


if __name__ == "__main__":
    sys.exit(main())
