"""Small seeded English and Chinese corpora for the vocabulary tests (written here, no downloads)."""

from __future__ import annotations

import numpy as np

EN_WORDS = (
    "time person year way day thing world life hand part child eye woman place work week "
    "case point government company number group problem fact people water history river "
    "mountain city village market teacher student doctor engineer library museum garden "
    "window morning evening summer winter question answer letter language country family "
    "system program method result report research science music theatre kitchen bridge "
    "station harbour island forest desert ocean weather journey picture story message "
    "machine computer network signal pattern model vocabulary sentence training corpus "
    "announce describe review measure discover reject publish translate question follow "
    "carry build remember consider appear believe explain develop include continue "
    "quick quiet ancient modern careful strange bright heavy simple famous curious "
    "the a of and to in is was for on with as by at from that this which"
).split()
EN_ACCENTED = ("café", "naïve", "résumé", "façade", "über", "Zürich", "São", "Ångström")
EN_EXTRAS = ("(see above)", '"quoted words"', "– indeed –", "£20", "€15", "state-of-the-art")

ZH_WORDS = (
    "我们 北京 大学 学习 自然 语言 处理 模型 方法 今天 天气 公园 散步 中文 分词 研究 问题 "
    "发表 论文 人工 智能 技术 改变 世界 上海 城市 机器 需要 数据 一个 重要 朋友 老师 学生 "
    "医生 工程师 图书馆 博物馆 花园 窗户 早上 晚上 夏天 冬天 回答 国家 家庭 系统 程序 结果 "
    "报告 科学 音乐 厨房 火车站 海岛 森林 沙漠 海洋 旅行 故事 消息 计算机 网络 信号 训练 "
    "的 了 在 是 和 很 好 也 都 就 还 又 把 被 给 从 对"
).split()
ZH_LATIN = ("BERT", "ALBERT", "Transformer", "GPU", "2019年", "3.5倍", "Python")


def english_sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(EN_WORDS, size=int(rng.integers(5, 14)))]
        if rng.random() < 0.3:
            words.insert(int(rng.integers(len(words))), str(rng.choice(EN_ACCENTED)))
        if rng.random() < 0.3:
            words.insert(int(rng.integers(len(words))), str(rng.choice(EN_EXTRAS)))
        if rng.random() < 0.2:
            words.append(str(int(rng.integers(1, 3000))))
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + str(rng.choice([".", ".", "?", "!"])))
    return out


def chinese_sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(ZH_WORDS, size=int(rng.integers(4, 12)))]
        if rng.random() < 0.4:
            words.insert(int(rng.integers(len(words))), str(rng.choice(ZH_LATIN)))
        if len(words) > 5 and rng.random() < 0.5:
            words.insert(len(words) // 2, "，")
        out.append("".join(words) + str(rng.choice(["。", "。", "？", "！"])))
    return out


def write_lines(path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)
