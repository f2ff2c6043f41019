"""SLEDAI-2K: the 24 descriptors, a parser for what staff type, and the score.

Source: docs/clinical-facts.md §5; Gladman DD, Ibanez D, Urowitz MB. "Systemic lupus
erythematosus disease activity index 2000." J Rheumatol 2002;29:288-91. The
registry record (docs/registry-record.txt) assesses "Clinical improvement of the
disease ... using systemic lupus erythematosus disease activity index", so the
trial reports the change from baseline (:func:`change_from_baseline`).

A descriptor scores its full weight when it is present at the visit or in the
previous 10 days; deciding *whether* it was present is the
assessor's job, this module only scores what was recorded. Descriptors whose
definition says "exclude ..." can be recorded with the excluded cause
(``leukopenia:drug``): they are then kept on the sheet but do not score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from core.messages import N_, RuleError


class Cause(Enum):
    """A cause that a SLEDAI-2K definition tells the assessor to exclude."""

    DRUG = "drug"
    INFECTION = "infection"
    STONE = "stone"
    OTHER = "other"
    METABOLIC = "metabolic"
    UREMIA = "uremia"
    HYPERTENSION = "hypertension"
    ARTERIOSCLEROSIS = "arteriosclerosis"

    @property
    def name_zh(self) -> str:
        """The Chinese word for the cause."""
        return _CAUSE_ZH[self]

    @property
    def reason(self) -> str:
        """Translatable sentence shown on a sheet line that this cause keeps from scoring."""
        return _CAUSE_REASON[self]


_CAUSE_ZH: Mapping[Cause, str] = MappingProxyType(
    {
        Cause.DRUG: "药物",
        Cause.INFECTION: "感染",
        Cause.STONE: "结石",
        Cause.OTHER: "其他",
        Cause.METABOLIC: "代谢",
        Cause.UREMIA: "尿毒症",
        Cause.HYPERTENSION: "高血压",
        Cause.ARTERIOSCLEROSIS: "动脉硬化",
    }
)

# One whole sentence per cause, so each translates without gluing fragments.
_CAUSE_REASON: Mapping[Cause, str] = MappingProxyType(
    {
        Cause.DRUG: N_("Not scored: attributed to a drug."),
        Cause.INFECTION: N_("Not scored: attributed to an infection."),
        Cause.STONE: N_("Not scored: attributed to a urinary stone."),
        Cause.OTHER: N_("Not scored: attributed to another cause."),
        Cause.METABOLIC: N_("Not scored: attributed to a metabolic cause."),
        Cause.UREMIA: N_("Not scored: attributed to uraemia."),
        Cause.HYPERTENSION: N_("Not scored: attributed to hypertension."),
        Cause.ARTERIOSCLEROSIS: N_("Not scored: attributed to arteriosclerosis."),
    }
)

_CAUSE_ALIASES: Mapping[Cause, tuple[str, ...]] = MappingProxyType(
    {
        Cause.DRUG: ("drugs", "medication", "medicine", "drug_induced", "药", "药物性", "药物所致"),
        Cause.INFECTION: ("infectious", "infective", "uti", "感染性"),
        Cause.STONE: ("stones", "calculus", "calculi", "urolithiasis", "尿路结石"),
        Cause.OTHER: ("other_cause", "其它", "其他原因"),
        Cause.METABOLIC: ("metabolism", "代谢性"),
        Cause.UREMIA: ("uraemia", "uremic", "uraemic"),
        Cause.HYPERTENSION: ("hypertensive", "htn"),
        Cause.ARTERIOSCLEROSIS: ("atherosclerosis", "动脉粥样硬化"),
    }
)


@dataclass(frozen=True, slots=True)
class SledaiItem:
    """One SLEDAI-2K descriptor with its weight, definition and allowed exclusions."""

    key: str
    name_en: str
    name_zh: str
    weight: int
    renal: bool
    definition_en: str
    definition_zh: str
    exclusions: tuple[Cause, ...]
    aliases: tuple[str, ...]


def _item(
    key: str,
    name_en: str,
    name_zh: str,
    weight: int,
    definition_en: str,
    definition_zh: str,
    *,
    exclusions: tuple[Cause, ...] = (),
    aliases: tuple[str, ...] = (),
    renal: bool = False,
) -> SledaiItem:
    return SledaiItem(
        key=key,
        name_en=name_en,
        name_zh=name_zh,
        weight=weight,
        renal=renal,
        definition_en=definition_en,
        definition_zh=definition_zh,
        exclusions=exclusions,
        aliases=aliases,
    )


_D, _I, _S, _O = Cause.DRUG, Cause.INFECTION, Cause.STONE, Cause.OTHER
_M, _U, _H, _A = Cause.METABOLIC, Cause.UREMIA, Cause.HYPERTENSION, Cause.ARTERIOSCLEROSIS

# Order and wording follow the SLEDAI-2K form (Gladman 2002), abridged where long;
# every threshold is kept.
ITEMS: tuple[SledaiItem, ...] = (
    _item(
        "seizure",
        "Seizure",
        "癫痫发作",
        8,
        "Recent onset. Exclude metabolic, infectious or drug causes.",
        "近期出现。除外代谢、感染或药物原因。",
        exclusions=(_M, _I, _D),
        aliases=("seizures", "癫痫", "抽搐"),
    ),
    _item(
        "psychosis",
        "Psychosis",
        "精神病",
        8,
        "Altered ability to function in normal activity due to severe disturbance in the"
        " perception of reality: hallucinations, incoherence, marked loose associations,"
        " impoverished thought content, marked illogical thinking, bizarre, disorganised or"
        " catatonic behaviour. Exclude uraemia and drug causes.",
        "因对现实的感知严重障碍而致正常活动能力改变：幻觉、言语不连贯、明显联想松弛、"
        "思维内容贫乏、明显的逻辑思维障碍、怪异、紊乱或紧张症样行为。除外尿毒症和药物原因。",
        exclusions=(_U, _D),
        aliases=("psychotic", "精神异常", "精神病性症状"),
    ),
    _item(
        "organic_brain_syndrome",
        "Organic brain syndrome",
        "器质性脑病综合征",
        8,
        "Altered mental function with impaired orientation, memory or other intellectual"
        " function, with rapid onset and fluctuating clinical features: clouding of"
        " consciousness with reduced capacity to focus and inability to sustain attention,"
        " plus at least 2 of: perceptual disturbance, incoherent speech, insomnia or daytime"
        " drowsiness, increased or decreased psychomotor activity. Exclude metabolic,"
        " infectious or drug causes.",
        "精神功能改变，伴定向力、记忆力或其他智能障碍，起病急、临床表现波动：意识模糊、"
        "注意力集中能力下降且不能持续注意环境，并至少具备以下 2 项：知觉障碍、言语不连贯、"
        "失眠或日间嗜睡、精神运动性活动增多或减少。除外代谢、感染或药物原因。",
        exclusions=(_M, _I, _D),
        aliases=("obs", "器质性脑综合征", "器质性脑病"),
    ),
    _item(
        "visual_disturbance",
        "Visual disturbance",
        "视觉障碍",
        8,
        "Retinal changes of SLE: cytoid bodies, retinal haemorrhages, serous exudate or"
        " haemorrhages in the choroid, or optic neuritis. Exclude hypertension, infection or"
        " drug causes.",
        "SLE 的视网膜病变：细胞样小体（棉絮斑）、视网膜出血、脉络膜浆液性渗出或出血，"
        "或视神经炎。除外高血压、感染或药物原因。",
        exclusions=(_H, _I, _D),
        aliases=("visual", "视力障碍", "视觉异常", "视网膜病变"),
    ),
    _item(
        "cranial_nerve_disorder",
        "Cranial nerve disorder",
        "脑神经病变",
        8,
        "New onset of sensory or motor neuropathy involving cranial nerves.",
        "新出现的累及脑神经的感觉或运动神经病变。",
        aliases=("cranial_nerve", "颅神经病变", "脑神经异常", "颅神经异常"),
    ),
    _item(
        "lupus_headache",
        "Lupus headache",
        "狼疮性头痛",
        8,
        "Severe, persistent headache; may be migrainous, but must be non-responsive to"
        " narcotic analgesia.",
        "严重、持续的头痛，可呈偏头痛样，但麻醉性镇痛药治疗无效。",
        aliases=("狼疮头痛",),
    ),
    _item(
        "cva",
        "Cerebrovascular accident",
        "脑血管意外",
        8,
        "New onset of cerebrovascular accident(s). Exclude arteriosclerosis.",
        "新发脑血管意外。除外动脉硬化。",
        exclusions=(_A,),
        aliases=("stroke", "cerebrovascular_accident", "脑卒中", "卒中", "中风"),
    ),
    _item(
        "vasculitis",
        "Vasculitis",
        "血管炎",
        8,
        "Ulceration, gangrene, tender finger nodules, periungual infarction, splinter"
        " haemorrhages, or biopsy or angiogram proof of vasculitis.",
        "溃疡、坏疽、手指痛性结节、甲周梗死、裂片状出血，或经活检或血管造影证实的血管炎。",
    ),
    _item(
        "arthritis",
        "Arthritis",
        "关节炎",
        4,
        "At least 2 joints with pain and signs of inflammation (tenderness, swelling or effusion).",
        "至少 2 个关节疼痛并有炎症体征（压痛、肿胀或积液）。",
    ),
    _item(
        "myositis",
        "Myositis",
        "肌炎",
        4,
        "Proximal muscle aching or weakness, with elevated creatine phosphokinase or"
        " aldolase, electromyogram changes, or a biopsy showing myositis.",
        "近端肌肉疼痛或无力，伴肌酸激酶或醛缩酶升高、肌电图改变，或活检证实肌炎。",
    ),
    _item(
        "urinary_casts",
        "Urinary casts",
        "管型尿",
        4,
        "Heme-granular or red blood cell casts.",
        "血红蛋白颗粒管型或红细胞管型。",
        aliases=("casts", "cast", "管型", "尿管型", "细胞管型"),
        renal=True,
    ),
    _item(
        "haematuria",
        "Haematuria",
        "血尿",
        4,
        "More than 5 red blood cells per high-power field (>5 RBC/hpf). Exclude stone,"
        " infection or other cause.",
        "尿红细胞 >5 个/高倍视野。除外结石、感染或其他原因。",
        exclusions=(_S, _I, _O),
        aliases=("hematuria", "镜下血尿"),
        renal=True,
    ),
    _item(
        "proteinuria",
        "Proteinuria",
        "蛋白尿",
        4,
        "More than 0.5 g of protein per 24 hours (>0.5 g/24 h).",
        "24 小时尿蛋白 >0.5 g。",
        renal=True,
    ),
    _item(
        "pyuria",
        "Pyuria",
        "脓尿",
        4,
        "More than 5 white blood cells per high-power field (>5 WBC/hpf). Exclude infection.",
        "尿白细胞 >5 个/高倍视野。除外感染。",
        exclusions=(_I,),
        aliases=("白细胞尿",),
        renal=True,
    ),
    _item(
        "rash",
        "Rash",
        "皮疹",
        2,
        "New or ongoing inflammatory-type rash.",
        "新出现或持续存在的炎性皮疹。",
        aliases=("红斑",),
    ),
    _item(
        "alopecia",
        "Alopecia",
        "脱发",
        2,
        "New or ongoing abnormal, patchy or diffuse loss of hair.",
        "新出现或持续存在的异常、斑片状或弥漫性脱发。",
        aliases=("hair_loss",),
    ),
    _item(
        "mucosal_ulcers",
        "Mucosal ulcers",
        "黏膜溃疡",
        2,
        "New or ongoing oral or nasal ulcerations.",
        "新出现或持续存在的口腔或鼻腔溃疡。",
        aliases=("mucosal_ulcer", "oral_ulcers", "ulcers", "粘膜溃疡", "口腔溃疡"),
    ),
    _item(
        "pleurisy",
        "Pleurisy",
        "胸膜炎",
        2,
        "Pleuritic chest pain with pleural rub or effusion, or pleural thickening.",
        "胸膜炎性胸痛，伴胸膜摩擦音或胸腔积液，或胸膜增厚。",
        aliases=("pleuritis",),
    ),
    _item(
        "pericarditis",
        "Pericarditis",
        "心包炎",
        2,
        "Pericardial pain with at least 1 of: rub, effusion, or electrocardiogram or"
        " echocardiogram confirmation.",
        "心包疼痛，并至少具备以下 1 项：心包摩擦音、心包积液，或心电图或超声心动图证实。",
    ),
    _item(
        "low_complement",
        "Low complement",
        "低补体",
        2,
        "CH50, C3 or C4 below the lower limit of normal for the testing laboratory.",
        "CH50、C3 或 C4 低于检测实验室正常值下限。",
        aliases=(
            "complement",
            "hypocomplementemia",
            "hypocomplementaemia",
            "低补体血症",
            "补体降低",
            "补体低",
        ),
    ),
    _item(
        "dsdna",
        "Increased DNA binding",
        "抗dsDNA抗体升高",
        2,
        "Increased DNA binding (anti-dsDNA antibody) above the normal range for the testing"
        " laboratory.",
        "DNA 结合（抗 dsDNA 抗体）高于检测实验室正常范围。",
        aliases=(
            "dna",
            "anti_dsdna",
            "anti_ds_dna",
            "ds_dna",
            "dna_binding",
            "increased_dna_binding",
            "抗dsdna抗体",
            "抗dsdna",
            "dsdna升高",
            "抗dsdna升高",
            "抗双链dna抗体升高",
        ),
    ),
    _item(
        "fever",
        "Fever",
        "发热",
        1,
        "Temperature above 38 °C (>38 °C). Exclude infectious cause.",
        "体温 >38 °C。除外感染原因。",
        exclusions=(_I,),
        aliases=("pyrexia", "发烧"),
    ),
    _item(
        "thrombocytopenia",
        "Thrombocytopenia",
        "血小板减少",
        1,
        "Platelets below 100 x 10^9/L (<100 x 10^9/L). Exclude drug causes.",
        "血小板 <100×10^9/L。除外药物原因。",
        exclusions=(_D,),
        aliases=("low_platelets", "血小板降低", "血小板低"),
    ),
    _item(
        "leukopenia",
        "Leukopenia",
        "白细胞减少",
        1,
        "White blood cells below 3 x 10^9/L (<3 x 10^9/L). Exclude drug causes.",
        "白细胞 <3×10^9/L。除外药物原因。",
        exclusions=(_D,),
        aliases=("leucopenia", "leukocytopenia", "low_wbc", "白细胞降低", "白细胞低"),
    ),
)

ITEMS_BY_KEY: Mapping[str, SledaiItem] = MappingProxyType({item.key: item for item in ITEMS})

NONE_TOKENS: tuple[str, ...] = ("none", "无")
"""A token that records a visit where no descriptor is present (score 0)."""

# Message ids. Kept as constants so tests and the bot can match on them.
UNKNOWN_ITEM = N_(
    "'{token}' is not a SLEDAI-2K item. See the SLEDAI-2K item list for the accepted names."
)
NO_EXCLUSION = N_(
    "{item} cannot be attributed to another cause: its SLEDAI-2K definition excludes no"
    " cause. Write it without a colon."
)
MISSING_CAUSE = N_(
    "'{token}' has nothing after the colon. Write the item alone, or item:cause with one"
    " of these causes: {accepted}."
)
UNKNOWN_CAUSE = N_("'{cause}' is not an accepted cause for {item}. Accepted causes: {accepted}.")
CAUSE_NOT_EXCLUDED = N_(
    "{item} cannot be attributed to {cause}: its SLEDAI-2K definition excludes only {accepted}."
)
DUPLICATE_TOKEN = N_(
    "{item} is listed more than once ('{first}' and '{second}'). List each SLEDAI-2K item once."
)
DUPLICATE_ITEM = N_("{item} is listed more than once. List each SLEDAI-2K item once.")
NONE_WITH_ITEMS = N_(
    "'{token}' means that no SLEDAI-2K item is present, so it cannot be combined with items."
)

_SEPARATOR = re.compile(r"[\s_\-]+")
_TOKEN_SPLIT = re.compile(r"[\s,;、]+")


def _normalise(text: str) -> str:
    # NFKC folds full-width input from Chinese keyboards (":", ",", "ＤＮＡ") to ASCII.
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return _SEPARATOR.sub("_", folded).strip("_")


def _build_item_index() -> Mapping[str, SledaiItem]:
    index: dict[str, SledaiItem] = {}
    for item in ITEMS:
        for name in (item.key, item.name_en, item.name_zh, *item.aliases):
            normal = _normalise(name)
            other = index.setdefault(normal, item)
            if other is not item:
                raise AssertionError(f"SLEDAI alias {name!r} names {other.key} and {item.key}")
    return MappingProxyType(index)


def _build_cause_index() -> Mapping[str, Cause]:
    index: dict[str, Cause] = {}
    for cause in Cause:
        for name in (cause.value, cause.name_zh, *_CAUSE_ALIASES[cause]):
            normal = _normalise(name)
            other = index.setdefault(normal, cause)
            if other is not cause:
                raise AssertionError(f"cause alias {name!r} names {other} and {cause}")
    return MappingProxyType(index)


_ITEM_INDEX = _build_item_index()
_CAUSE_INDEX = _build_cause_index()
_NONE_INDEX = frozenset(_normalise(token) for token in NONE_TOKENS)


def _accepted_causes(item: SledaiItem) -> str:
    # Both languages: staff may type either, and the list is shown as typed input.
    return ", ".join(f"{cause.value}/{cause.name_zh}" for cause in item.exclusions)


def lookup_item(name: str) -> SledaiItem | None:
    """Return the SLEDAI-2K descriptor that ``name`` names, or ``None``.

    Accepts the key, the English or Chinese name and the aliases of :data:`ITEMS`,
    ignoring case, full-width forms, and spaces/hyphens/underscores between words.
    Source: docs/clinical-facts.md §5 (descriptor list).
    """
    return _ITEM_INDEX.get(_normalise(name))


def lookup_cause(word: str) -> Cause | None:
    """Return the attribution cause that ``word`` names (English or Chinese), or ``None``.

    Source: the "exclude ..." clauses of the SLEDAI-2K definitions (docs/clinical-facts.md §5).
    """
    return _CAUSE_INDEX.get(_normalise(word))


@dataclass(frozen=True, slots=True)
class RecordedItem:
    """A descriptor recorded as present, optionally attributed to an excluded cause.

    Construction refuses an attribution the descriptor's definition does not
    exclude (SLEDAI-2K definitions, docs/clinical-facts.md §5).
    """

    item: SledaiItem
    attribution: Cause | None = None

    def __post_init__(self) -> None:
        if self.attribution is None:
            return
        _check_attribution(self.item, self.item.name_en, self.attribution, self.attribution.value)


def _check_attribution(item: SledaiItem, item_text: str, cause: Cause, cause_text: str) -> None:
    if not item.exclusions:
        raise RuleError(NO_EXCLUSION, item=item_text, item_key=item.key)
    if cause not in item.exclusions:
        raise RuleError(
            CAUSE_NOT_EXCLUDED,
            item=item_text,
            cause=cause_text,
            accepted=_accepted_causes(item),
            item_key=item.key,
        )


def split_tokens(text: str) -> tuple[str, ...]:
    """Split a typed line into item tokens at spaces, commas, semicolons and "、".

    ``"血尿，蛋白尿 低补体"`` -> ``("血尿", "蛋白尿", "低补体")``. The colon of an
    attribution stays inside its token. Source: input convenience, no clinical rule.
    """
    folded = unicodedata.normalize("NFKC", text)
    return tuple(token for token in _TOKEN_SPLIT.split(folded) if token)


def parse_items(tokens: Sequence[str]) -> tuple[RecordedItem, ...]:
    """Parse the descriptors a user typed into recorded SLEDAI-2K items.

    Each token is an item name (English or Chinese, key or alias), optionally
    followed by ``:cause`` where the cause is one the item's SLEDAI-2K definition
    tells the assessor to exclude (``leukopenia:drug``, ``白细胞减少:药物``,
    ``haematuria:stone``). A lone ``none``/``无`` records that no item is present.
    A single string is split with :func:`split_tokens`. Blank tokens are ignored.

    Refuses, with :class:`RuleError`: an unknown item; an attribution on an item
    whose definition excludes nothing; an empty, unknown or non-excluded cause;
    the same item twice; ``none`` combined with items.
    Source: docs/clinical-facts.md §5 ("Items that say 'exclude infection/drug' need an
    attribution flag"); SLEDAI-2K definitions (Gladman 2002).
    """
    if isinstance(tokens, str):
        tokens = split_tokens(tokens)
    raw = [token.strip() for token in tokens if token.strip()]
    none_tokens = [token for token in raw if _normalise(token) in _NONE_INDEX]
    if none_tokens:
        if len(raw) > 1:
            raise RuleError(NONE_WITH_ITEMS, token=none_tokens[0])
        return ()

    seen: dict[str, str] = {}
    recorded: list[RecordedItem] = []
    for token in raw:
        entry = _parse_token(token)
        first = seen.get(entry.item.key)
        if first is not None:
            raise RuleError(
                DUPLICATE_TOKEN,
                item=entry.item.name_en,
                first=first,
                second=token,
                item_key=entry.item.key,
            )
        seen[entry.item.key] = token
        recorded.append(entry)
    return tuple(recorded)


def _parse_token(token: str) -> RecordedItem:
    folded = unicodedata.normalize("NFKC", token)
    item_text, colon, cause_text = folded.partition(":")
    item_text, cause_text = item_text.strip(), cause_text.strip()
    item = lookup_item(item_text)
    if item is None:
        raise RuleError(UNKNOWN_ITEM, token=token)
    if not colon:
        return RecordedItem(item)
    if not item.exclusions:
        raise RuleError(NO_EXCLUSION, item=item_text, item_key=item.key)
    if not cause_text:
        raise RuleError(
            MISSING_CAUSE, token=token, accepted=_accepted_causes(item), item_key=item.key
        )
    cause = lookup_cause(cause_text)
    if cause is None:
        raise RuleError(
            UNKNOWN_CAUSE,
            cause=cause_text,
            item=item_text,
            accepted=_accepted_causes(item),
            item_key=item.key,
        )
    _check_attribution(item, item_text, cause, cause_text)
    return RecordedItem(item, cause)


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """One recorded descriptor on the sheet: its weight and whether it scored.

    ``reason`` is a translatable sentence (message id) when the item did not
    score, else ``None``.
    """

    item: SledaiItem
    weight: int
    scored: bool
    attribution: Cause | None
    reason: str | None

    @property
    def points(self) -> int:
        """Points this line adds to the total: the full weight or nothing."""
        return self.weight if self.scored else 0


@dataclass(frozen=True, slots=True)
class SledaiScore:
    """A visit's SLEDAI-2K: total (0-105), renal subset (0-16), lines in form order."""

    total: int
    renal: int
    lines: tuple[ScoreLine, ...]

    @property
    def scored_items(self) -> tuple[SledaiItem, ...]:
        """Descriptors that contributed their weight."""
        return tuple(line.item for line in self.lines if line.scored)

    @property
    def not_scored(self) -> tuple[ScoreLine, ...]:
        """Recorded descriptors attributed to an excluded cause."""
        return tuple(line for line in self.lines if not line.scored)


_FORM_ORDER: Mapping[str, int] = MappingProxyType(
    {item.key: position for position, item in enumerate(ITEMS)}
)


def score(items: Iterable[RecordedItem]) -> SledaiScore:
    """Score recorded descriptors with SLEDAI-2K.

    Each present descriptor scores its full weight (no partial scores); one
    attributed to a cause its definition excludes scores 0 and its line says why
    (e.g. MMF leukopenia, ``leukopenia:drug``). The renal subset is urinary casts,
    haematuria, proteinuria and pyuria (0-16). Lines follow the SLEDAI-2K form
    order; only recorded descriptors get a line. Refuses the same item twice.
    Source: docs/clinical-facts.md §5; Gladman 2002.
    """
    lines: list[ScoreLine] = []
    seen: set[str] = set()
    for entry in items:
        if entry.item.key in seen:
            raise RuleError(DUPLICATE_ITEM, item=entry.item.name_en, item_key=entry.item.key)
        seen.add(entry.item.key)
        scored = entry.attribution is None
        lines.append(
            ScoreLine(
                item=entry.item,
                weight=entry.item.weight,
                scored=scored,
                attribution=entry.attribution,
                reason=None if entry.attribution is None else entry.attribution.reason,
            )
        )
    lines.sort(key=lambda line: _FORM_ORDER[line.item.key])
    total = sum(line.points for line in lines)
    renal = sum(line.points for line in lines if line.item.renal)
    return SledaiScore(total=total, renal=renal, lines=tuple(lines))


class Direction(Enum):
    """Direction of a change in score: lower SLEDAI-2K means less disease activity."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSENED = "worsened"


def _direction(change: int) -> Direction:
    if change < 0:
        return Direction.IMPROVED
    if change > 0:
        return Direction.WORSENED
    return Direction.UNCHANGED


@dataclass(frozen=True, slots=True)
class SledaiChange:
    """Change from baseline of the total and of the renal subset (negative = improvement)."""

    baseline_total: int
    later_total: int
    total_change: int
    baseline_renal: int
    later_renal: int
    renal_change: int
    direction: Direction
    renal_direction: Direction


def change_from_baseline(baseline: SledaiScore, later: SledaiScore) -> SledaiChange:
    """Change in SLEDAI-2K total and renal subset from baseline (later - baseline).

    Negative is improvement. No responder threshold (such as SRI-4's fall of 4 or
    more) is applied: the registry only says improvement "was assessed using
    systemic lupus erythematosus disease activity index", and docs/clinical-facts.md §5
    says "'Improvement' = change from baseline; report the change and the renal
    subset".
    """
    total_change = later.total - baseline.total
    renal_change = later.renal - baseline.renal
    return SledaiChange(
        baseline_total=baseline.total,
        later_total=later.total,
        total_change=total_change,
        baseline_renal=baseline.renal,
        later_renal=later.renal,
        renal_change=renal_change,
        direction=_direction(total_change),
        renal_direction=_direction(renal_change),
    )
