"""Golden sentence-splitting cases for English, Chinese and mixed text."""

from __future__ import annotations

import pytest

from albert_data.text.normalize import CLEANING
from albert_data.text.sentences import SplitterConfig, split_sentences

# (paragraph, expected sentences); sentences are written with " | " between them.
ENGLISH = [
    ("The cat sat. The dog ran.", "The cat sat. | The dog ran."),
    ("Is it raining? Take an umbrella!", "Is it raining? | Take an umbrella!"),
    ("Really?! I had no idea.", "Really?! | I had no idea."),
    ("Mr. Brown met Mrs. Green and Ms. White.", "Mr. Brown met Mrs. Green and Ms. White."),
    (
        "Dr. Ada Lee and Prof. Kim spoke. They agreed.",
        "Dr. Ada Lee and Prof. Kim spoke. | They agreed.",
    ),
    (
        "Martin Sr. and Martin Jr. live on St. Mark Street.",
        "Martin Sr. and Martin Jr. live on St. Mark Street.",
    ),
    ("It was Smith vs. Jones. Jones won.", "It was Smith vs. Jones. | Jones won."),
    ("Bring fruit, e.g. Apples or pears.", "Bring fruit, e.g. Apples or pears."),
    ("Use a mild acid, i.e. Vinegar. It works.", "Use a mild acid, i.e. Vinegar. | It works."),
    (
        "We sold pens, pencils, etc. The shop closed at noon.",
        "We sold pens, pencils, etc. | The shop closed at noon.",
    ),
    ("Tools, glue, etc. 25 boxes in all.", "Tools, glue, etc. 25 boxes in all."),
    (
        "The U.S. Senate voted. The U.K. Parliament did not.",
        "The U.S. Senate voted. | The U.K. Parliament did not.",
    ),
    (
        "The train left at 9 a.m. The next one was at 5 p.m. on Friday.",
        "The train left at 9 a.m. | The next one was at 5 p.m. on Friday.",
    ),
    ("Open at 8 a.m. GMT daily.", "Open at 8 a.m. GMT daily."),
    (
        "He lives at No. 10 Downing Street. No. That is wrong.",
        "He lives at No. 10 Downing Street. | No. | That is wrong.",
    ),
    (
        "See Fig. 3 and Vol. 2 of the report. Then read p. 45.",
        "See Fig. 3 and Vol. 2 of the report. | Then read p. 45.",
    ),
    (
        "Acme Inc. Makes rockets. Acme Ltd. CEO Jane Roe agreed.",
        "Acme Inc. | Makes rockets. | Acme Ltd. CEO Jane Roe agreed.",
    ),
    (
        "The meeting is on Jan. 5 or Feb. 12. Bring notes.",
        "The meeting is on Jan. 5 or Feb. 12. | Bring notes.",
    ),
    ("It weighs approx. 4 kg. Lift it carefully.", "It weighs approx. 4 kg. | Lift it carefully."),
    (
        "Compare the results (cf. Table 2). They differ.",
        "Compare the results (cf. Table 2). | They differ.",
    ),
    (
        "Lan et al. Proposed ALBERT in 2019. It is small.",
        "Lan et al. Proposed ALBERT in 2019. | It is small.",
    ),
    ("Pi is about 3.14159. It never ends.", "Pi is about 3.14159. | It never ends."),
    (
        "Upgrade to v2.0. Version 1.2.3 is obsolete.",
        "Upgrade to v2.0. | Version 1.2.3 is obsolete.",
    ),
    ("Prices rose 2.5 percent. 2024 was worse.", "Prices rose 2.5 percent. | 2024 was worse."),
    (
        "J. R. R. Tolkien wrote it. C. S. Lewis read it.",
        "J. R. R. Tolkien wrote it. | C. S. Lewis read it.",
    ),
    ("Written by J.R.R. Tolkien in 1937.", "Written by J.R.R. Tolkien in 1937."),
    ("I waited... Nobody came.", "I waited... | Nobody came."),
    ("I waited\u2026 Nobody came.", "I waited\u2026 | Nobody came."),
    ("Well... maybe later.", "Well... maybe later."),
    ('He said "Stop." Then he left.', 'He said "Stop." | Then he left.'),
    ("She asked, 'Why?' Nobody knew.", "She asked, 'Why?' | Nobody knew."),
    ('"Stop!" he shouted.', '"Stop!" he shouted.'),
    (
        "(This part is in brackets.) The next part is not.",
        "(This part is in brackets.) | The next part is not.",
    ),
    ("He left. (Nobody saw him.) It was late.", "He left. | (Nobody saw him.) | It was late."),
    ('The sign read "Closed". We went home.', 'The sign read "Closed". | We went home.'),
    ("Visit www.example.com. It is free.", "Visit www.example.com. | It is free."),
    (
        "See http://x.y/z.html for details. Then reply.",
        "See http://x.y/z.html for details. | Then reply.",
    ),
    (
        "Open https://example.org/a/b.html?q=1&r=2. Done.",
        "Open https://example.org/a/b.html?q=1&r=2. | Done.",
    ),
    (
        "Mail j.smith@example.co.uk. He answers fast.",
        "Mail j.smith@example.co.uk. | He answers fast.",
    ),
    ("It is 5 p.m. in London, i.e. Late.", "It is 5 p.m. in London, i.e. Late."),
    ("Lists work too. 1. Mix the flour.", "Lists work too. | 1. Mix the flour."),
    # A numbered heading is one sentence; a section number inside a sentence still ends it.
    ("10.1. Overview", "10.1. Overview"),
    ("1.2.3. Installing the tools", "1.2.3. Installing the tools"),
    ("10.1. Overview of the system. It works.", "10.1. Overview of the system. | It works."),
    ("Read section 10.1. Overview follows.", "Read section 10.1. | Overview follows."),
    ("The value is 2019. Then it fell.", "The value is 2019. | Then it fell."),
    ("He paid $4.50. She paid more.", "He paid $4.50. | She paid more."),
    (
        "Semicolons join clauses; They do not end sentences.",
        "Semicolons join clauses; They do not end sentences.",
    ),
    ("The end.", "The end."),
    ("No final stop here", "No final stop here"),
    ("lowercase after a stop. does not split", "lowercase after a stop. does not split"),
    (
        "She earned her Ph.D. Then she moved to Boston.",
        "She earned her Ph.D. | Then she moved to Boston.",
    ),
    ("Roe v. Wade was decided in 1973.", "Roe v. Wade was decided in 1973."),
    ("Councillor P. J. Okafor spoke first.", "Councillor P. J. Okafor spoke first."),
    (
        "The meeting was held on Sat. 14 March. We orbit the Sun. It is a star.",
        "The meeting was held on Sat. 14 March. | We orbit the Sun. | It is a star.",
    ),
]

CHINESE = [
    ("今天天气很好。我们去公园吧。", "今天天气很好。 | 我们去公园吧。"),
    ("你吃饭了吗？我还没吃！", "你吃饭了吗？ | 我还没吃！"),
    ("他很累；她也很累。", "他很累； | 她也很累。"),
    ("他说：“走吧。”然后离开了。", "他说：“走吧。” | 然后离开了。"),
    ("「真的吗？」她问。", "「真的吗？」 | 她问。"),
    ("她读完了『红楼梦』。接着读别的书。", "她读完了『红楼梦』。 | 接着读别的书。"),
    ("（这是括号里的话。）下一句。", "（这是括号里的话。） | 下一句。"),
    ("我买了《三体》。很好看！", "我买了《三体》。 | 很好看！"),
    ("我想……也许明天吧。", "我想…… | 也许明天吧。"),
    ("他停了一下…然后笑了。", "他停了一下… | 然后笑了。"),
    (
        "我们用 Python 3.11 训练了 ALBERT 模型。效果不错。",
        "我们用 Python 3.11 训练了 ALBERT 模型。 | 效果不错。",
    ),
    ("版本 v2.0 已经发布。请升级到 1.2.3 以上。", "版本 v2.0 已经发布。 | 请升级到 1.2.3 以上。"),
    ("圆周率约为3.14。它是无理数。", "圆周率约为3.14。 | 它是无理数。"),
    ("真的吗?是的!太好了;我们走。", "真的吗? | 是的! | 太好了; | 我们走。"),
    ('他说:"走吧!"然后离开了。', '他说:"走吧!" | 然后离开了。'),
    ("(注意)请先登录。然后下载。", "(注意)请先登录。 | 然后下载。"),
    ("你用Python吗?我用。", "你用Python吗? | 我用。"),
    ("我喜欢 Python.它很好用。", "我喜欢 Python. | 它很好用。"),
    ("I like tea. 我也喜欢茶。", "I like tea. | 我也喜欢茶。"),
    ("这是 Mr. Smith 的书。他是作家。", "这是 Mr. Smith 的书。 | 他是作家。"),
    (
        "请访问 https://example.com/zh/index.html 了解详情。谢谢！",
        "请访问 https://example.com/zh/index.html 了解详情。 | 谢谢！",
    ),
    ("联系邮箱是 li.wei@example.cn。欢迎来信。", "联系邮箱是 li.wei@example.cn。 | 欢迎来信。"),
    ("价格是 12.5 元。便宜吗？", "价格是 12.5 元。 | 便宜吗？"),
    ("他问：“你来吗？”“我来！”", "他问：“你来吗？” | “我来！”"),
    ("等一下！！！你去哪儿？？", "等一下！！！ | 你去哪儿？？"),
    (
        "ALBERT 是 Google 在 2019 年提出的模型，参数更少。",
        "ALBERT 是 Google 在 2019 年提出的模型，参数更少。",
    ),
    ("没有句号的一句话", "没有句号的一句话"),
    ("天亮了。 我们出发。", "天亮了。 | 我们出发。"),
    # A Latin abbreviation right after CJK text: the word is what follows the CJK.
    ("他来了。Dr. Li 说他很好。", "他来了。 | Dr. Li 说他很好。"),
    ("他来了。Dr. Li said hi. Then 他走了。", "他来了。 | Dr. Li said hi. | Then 他走了。"),
    ("我用Python 3.11。Mr. Wang 同意。", "我用Python 3.11。 | Mr. Wang 同意。"),
    ("他来了。St. Louis 很远。", "他来了。 | St. Louis 很远。"),
    ("他住在U.S. 已经十年。", "他住在U.S. 已经十年。"),
    ("会议在Jan. 5 举行。", "会议在Jan. 5 举行。"),
    ("价格上涨了5%。U.S. 市场也涨了。", "价格上涨了5%。 | U.S. 市场也涨了。"),
    ("他说：“Mr. Li 来了。”然后走了。", "他说：“Mr. Li 来了。” | 然后走了。"),
    ("（见Fig. 3）。下一句。", "（见Fig. 3）。 | 下一句。"),
]


def _expected(joined: str) -> list[str]:
    return joined.split(" | ")


@pytest.mark.parametrize(("text", "expected"), ENGLISH, ids=[t[:40] for t, _ in ENGLISH])
def test_english(text: str, expected: str) -> None:
    assert split_sentences(text) == _expected(expected)


@pytest.mark.parametrize(("text", "expected"), CHINESE, ids=[t[:20] for t, _ in CHINESE])
def test_chinese_and_mixed(text: str, expected: str) -> None:
    assert split_sentences(text) == _expected(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("你好！我很好？谢谢；再见。", "你好! | 我很好? | 谢谢; | 再见。"),
        ("他想了想……说：“好。”", "他想了想...... | 说:“好。”"),
        ("她说（笑着）：「走吧！」我们就走了。", "她说(笑着):「走吧!」 | 我们就走了。"),
        ("ＡＬＢＥＲＴ模型很小。Ｐｙｔｈｏｎ３．１１很好。", "ALBERT模型很小。 | Python3.11很好。"),
        ("占比约 57%；经营收入增长较快。", "占比约 57%; | 经营收入增长较快。"),
        ("统一使用 UTF-8；第二，不要猜编码。", "统一使用 UTF-8; | 第二,不要猜编码。"),
    ],
)
def test_chinese_after_nfkc(raw: str, expected: str) -> None:
    """NFKC (the default cleaning) makes ！？；（）： half-width and … three dots."""
    assert split_sentences(CLEANING(raw)) == _expected(expected)


@pytest.mark.parametrize("text", ["", " ", "   \t  ", "\u3000"])
def test_empty_and_whitespace(text: str) -> None:
    assert split_sentences(text) == []


def test_megabyte_without_punctuation_is_cut_at_spaces() -> None:
    text = " ".join(f"w{i % 9973}" for i in range(200_000))[:1_000_000]
    pieces = split_sentences(text, max_chars=2000)
    assert len(pieces) > 1
    assert all(0 < len(p) <= 2000 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in pieces)


def test_megabyte_without_spaces_is_cut_hard() -> None:
    text = "字" * 1_000_000
    pieces = split_sentences(text, max_chars=512)
    assert all(len(p) <= 512 for p in pieces)
    assert "".join(pieces) == text


def test_long_sentence_prefers_clause_punctuation() -> None:
    clause = "这是一个很长的分句，"  # 10 characters ending with a comma
    text = clause * 50 + "完。"
    pieces = split_sentences(text, max_chars=95)
    assert all(len(p) <= 95 for p in pieces)
    assert all(p.endswith("，") for p in pieces[:-1])
    assert "".join(pieces) == text


def test_long_english_sentence_cut_at_comma_or_space() -> None:
    text = "one two three, " * 100 + "the end."
    pieces = split_sentences(text, max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert " ".join(pieces) == text


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_sentences("text", max_chars=0)


def test_config_splits_with_its_limit() -> None:
    config = SplitterConfig(max_chars=10)
    assert config.split("aaaa bbbb cccc. Dddd.") == ["aaaa bbbb", "cccc.", "Dddd."]


def test_sentences_cover_the_text() -> None:
    text = 'Mr. A. B. Cole paid $3.50 at 9 a.m. "Fine." Then he left... Why? 他走了。好!'
    assert "".join(split_sentences(text)).replace(" ", "") == text.replace(" ", "")


def test_no_cjk_character_sorts_before_the_quick_check_bound() -> None:
    # _ends_sentence skips the CJK regex for characters below _CJK_FIRST.
    from albert_data.text import sentences

    below = [cp for cp in range(ord(sentences._CJK_FIRST)) if sentences._CJK_RE.match(chr(cp))]
    assert below == []
    assert sentences._CJK_RE.match(sentences._CJK_FIRST)


# sha256 of the sentences of write_corpus(lang, seed=7, 400 kB, raw), max_chars 2000 and
# 40, computed on the tree before the splitter's speed-up (commit 6fab12b).
PINNED = {
    "en": "9e79ef9f48b9661b41a111b5bc7164fa4141326ad1de362655179b87220e7127",
    "zh": "cc8630fdf4d95cc693e4d6f6fde02db0541ad4f65fed9eb4a0e069579ce08385",
}


@pytest.mark.parametrize("lang", sorted(PINNED))
def test_generated_corpus_splits_into_the_pinned_sentences(lang: str, tmp_path) -> None:
    import hashlib

    from albert_data.text.corpus import write_corpus

    path = tmp_path / lang
    write_corpus(str(path), lang, seed=7, target_bytes=400_000, sentence_per_line=False)
    digest = hashlib.sha256()
    for paragraph in path.read_text(encoding="utf-8").split("\n"):
        text = CLEANING(paragraph)
        for max_chars in (2000, 40):
            digest.update("\n".join(split_sentences(text, max_chars=max_chars)).encode() + b"\0")
    assert digest.hexdigest() == PINNED[lang]
