"""CTCAE v5.0 terms likely in this trial, in English and Chinese (data only).

SOURCE: NCI Common Terminology Criteria for Adverse Events (CTCAE) v5.0,
published 27 November 2017 (US public domain). The term names, their MedDRA
system organ class (SOC) names in English and the grade texts are CTCAE's own
public wording, lightly abridged; hypertension keeps only the adult criteria.
The Chinese names and grade texts are our translation. Synonyms are ours
(common clinical and colloquial words a nurse or patient types); they are not
MedDRA lowest-level terms, and no MedDRA file is used or shipped.

The term list is exactly docs/clinical-facts.md §6 ("Terms likely here"). A "-" cell
in CTCAE (a grade that does not exist for a term) is simply absent here.
"""

from __future__ import annotations

from dataclasses import dataclass

CTCAE_VERSION = "5.0"


@dataclass(frozen=True, slots=True)
class GradeText:
    """The wording of one CTCAE grade, in English and Chinese."""

    grade: int
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    """One CTCAE v5.0 adverse-event term with its grades and synonyms.

    ``key`` is a stable identifier for storage (the English term in snake case).
    ``grades`` lists only the grades CTCAE v5.0 defines for the term, ascending.
    """

    key: str
    term_en: str
    term_zh: str
    soc_en: str
    synonyms_en: tuple[str, ...]
    synonyms_zh: tuple[str, ...]
    grades: tuple[GradeText, ...]

    @property
    def grade_numbers(self) -> tuple[int, ...]:
        """The grades CTCAE v5.0 defines for this term, ascending."""
        return tuple(g.grade for g in self.grades)

    def grade_text(self, grade: int) -> GradeText | None:
        """The wording of ``grade`` for this term, or None if the term has no such grade."""
        for g in self.grades:
            if g.grade == grade:
                return g
        return None


# General grade definitions (CTCAE v5.0 "Grades"; docs/clinical-facts.md §6).
GENERAL_GRADES: tuple[GradeText, ...] = (
    GradeText(
        1,
        "Mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; "
        "intervention not indicated.",
        "轻度；无症状或轻微症状；仅为临床或诊断所见；无需治疗。",
    ),
    GradeText(
        2,
        "Moderate; minimal, local or noninvasive intervention indicated; limiting "
        "age-appropriate instrumental ADL.",
        "中度；需要较小、局部或非侵入性治疗；与年龄相适应的工具性日常生活活动受限。",
    ),
    GradeText(
        3,
        "Severe or medically significant but not immediately life-threatening; "
        "hospitalization or prolongation of existing hospitalization indicated; disabling; "
        "limiting self-care ADL.",
        "重度或具有重要医学意义但不会立即危及生命；需要住院或延长住院时间；致残；"
        "自理性日常生活活动受限。",
    ),
    GradeText(
        4,
        "Life-threatening consequences; urgent intervention indicated.",
        "危及生命；需要紧急治疗。",
    ),
    GradeText(5, "Death related to the adverse event.", "与不良事件相关的死亡。"),
)

# Shared wordings: CTCAE repeats these cells verbatim across many terms.
_LIFE_THREATENING = GradeText(
    4, "Life-threatening consequences; urgent intervention indicated", "危及生命；需要紧急治疗"
)
_DEATH = GradeText(5, "Death", "死亡")

# CTCAE v5.0 infection terms share one grade scale (grade 1 is "-").
_INFECTION_GRADES: tuple[GradeText, ...] = (
    GradeText(
        2,
        "Moderate symptoms; oral intervention indicated (e.g., antibiotic, antifungal, antiviral)",
        "中度症状；需要口服治疗（如抗菌、抗真菌或抗病毒药物）",
    ),
    GradeText(
        3,
        "IV antibiotic, antifungal, or antiviral intervention indicated; invasive intervention "
        "indicated",
        "需要静脉抗菌、抗真菌或抗病毒治疗；需要侵入性治疗",
    ),
    _LIFE_THREATENING,
    _DEATH,
)

_INFECTIONS = "Infections and infestations"

TERMS: tuple[CtcaeTerm, ...] = (
    CtcaeTerm(
        key="lung_infection",
        term_en="Lung infection",
        term_zh="肺部感染",
        soc_en=_INFECTIONS,
        # CTCAE v5.0 has no "Pneumonia" term: pneumonia is graded as Lung infection
        # (docs/clinical-facts.md §6). "Pneumonitis" is a different CTCAE term, so it is not here.
        synonyms_en=("pneumonia", "pulmonary infection", "lung infections"),
        synonyms_zh=("肺炎", "肺感染", "肺内感染"),
        grades=_INFECTION_GRADES,
    ),
    CtcaeTerm(
        key="upper_respiratory_infection",
        term_en="Upper respiratory infection",
        term_zh="上呼吸道感染",
        soc_en=_INFECTIONS,
        synonyms_en=("URI", "URTI", "upper respiratory tract infection", "common cold"),
        synonyms_zh=("上感", "感冒", "上呼吸道感染症"),
        grades=_INFECTION_GRADES,
    ),
    CtcaeTerm(
        key="urinary_tract_infection",
        term_en="Urinary tract infection",
        term_zh="尿路感染",
        soc_en=_INFECTIONS,
        # "Bladder infection" and "Cystitis noninfective" are separate CTCAE terms.
        synonyms_en=("UTI", "urinary infection"),
        synonyms_zh=("尿感", "泌尿道感染", "泌尿系感染", "泌尿系统感染"),
        grades=_INFECTION_GRADES,
    ),
    CtcaeTerm(
        key="shingles",
        term_en="Shingles",
        term_zh="带状疱疹",
        soc_en=_INFECTIONS,
        synonyms_en=("herpes zoster", "zoster"),
        synonyms_zh=("缠腰龙", "蛇串疮"),
        grades=(
            GradeText(
                1, "Mild, localized; local intervention indicated", "轻度，局限性；需要局部治疗"
            ),
            GradeText(
                2,
                "Moderate; oral intervention indicated (e.g., antiviral)",
                "中度；需要口服治疗（如抗病毒药物）",
            ),
            GradeText(3, "Severe; IV intervention indicated", "重度；需要静脉治疗"),
        ),
    ),
    CtcaeTerm(
        key="infusion_related_reaction",
        term_en="Infusion related reaction",
        term_zh="输液相关反应",
        # CTCAE v5.0 moved this term from "General disorders..." (v4.03) to this SOC.
        soc_en="Injury, poisoning and procedural complications",
        synonyms_en=("infusion reaction", "IRR"),
        synonyms_zh=("输液反应", "输注反应", "输注相关反应"),
        grades=(
            GradeText(
                1,
                "Mild transient reaction; infusion interruption not indicated; intervention not "
                "indicated",
                "轻度一过性反应；无需中断输液；无需治疗",
            ),
            GradeText(
                2,
                "Therapy or infusion interruption indicated but responds promptly to symptomatic "
                "treatment (e.g., antihistamines, NSAIDs, narcotics, IV fluids); prophylactic "
                "medications indicated for ≤24 hrs",
                "需要中断治疗或输液，但对症治疗（如抗组胺药、非甾体抗炎药、阿片类镇痛药、静脉补液）"
                "迅速有效；需要预防性用药≤24小时",
            ),
            GradeText(
                3,
                "Prolonged (e.g., not rapidly responsive to symptomatic medication and/or brief "
                "interruption of infusion); recurrence of symptoms following initial improvement; "
                "hospitalization indicated for clinical sequelae",
                "反应迁延（如对症用药和/或短暂中断输液后未迅速缓解）；初步好转后症状复发；"
                "因临床后遗症需要住院",
            ),
            _LIFE_THREATENING,
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="allergic_reaction",
        term_en="Allergic reaction",
        term_zh="过敏反应",
        soc_en="Immune system disorders",
        synonyms_en=("allergy", "hypersensitivity", "hypersensitivity reaction"),
        synonyms_zh=("过敏", "超敏反应", "变态反应"),
        grades=(
            GradeText(1, "Systemic intervention not indicated", "无需全身治疗"),
            GradeText(2, "Oral intervention indicated", "需要口服治疗"),
            GradeText(
                3,
                "Bronchospasm; hospitalization indicated for clinical sequelae; intravenous "
                "intervention indicated",
                "支气管痉挛；因临床后遗症需要住院；需要静脉治疗",
            ),
            _LIFE_THREATENING,
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="anaphylaxis",
        term_en="Anaphylaxis",
        term_zh="严重过敏反应",
        soc_en="Immune system disorders",
        synonyms_en=("anaphylactic reaction", "anaphylactic shock"),
        synonyms_zh=("过敏性休克", "全身性过敏反应"),
        grades=(
            GradeText(
                3,
                "Symptomatic bronchospasm, with or without urticaria; parenteral intervention "
                "indicated; allergy-related edema/angioedema; hypotension",
                "有症状的支气管痉挛，伴或不伴荨麻疹；需要胃肠外治疗；过敏相关水肿/血管性水肿；低血压",
            ),
            _LIFE_THREATENING,
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="diarrhea",
        term_en="Diarrhea",
        term_zh="腹泻",
        soc_en="Gastrointestinal disorders",
        synonyms_en=("diarrhoea", "loose stools"),
        synonyms_zh=("拉肚子", "稀便"),
        grades=(
            GradeText(
                1,
                "Increase of <4 stools per day over baseline; mild increase in ostomy output "
                "compared to baseline",
                "与基线相比每天排便增加<4次；造口排出量较基线轻度增加",
            ),
            GradeText(
                2,
                "Increase of 4 - 6 stools per day over baseline; moderate increase in ostomy "
                "output compared to baseline; limiting instrumental ADL",
                "与基线相比每天排便增加4-6次；造口排出量较基线中度增加；工具性日常生活活动受限",
            ),
            GradeText(
                3,
                "Increase of ≥7 stools per day over baseline; hospitalization indicated; severe "
                "increase in ostomy output compared to baseline; limiting self care ADL",
                "与基线相比每天排便增加≥7次；需要住院；造口排出量较基线重度增加；"
                "自理性日常生活活动受限",
            ),
            _LIFE_THREATENING,
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="nausea",
        term_en="Nausea",
        term_zh="恶心",
        soc_en="Gastrointestinal disorders",
        synonyms_en=("nauseous", "nauseated", "queasy"),
        synonyms_zh=("想吐", "作呕", "反胃"),
        grades=(
            GradeText(
                1,
                "Loss of appetite without alteration in eating habits",
                "食欲下降，进食习惯未改变",
            ),
            GradeText(
                2,
                "Oral intake decreased without significant weight loss, dehydration or "
                "malnutrition",
                "经口摄入减少，但无明显体重下降、脱水或营养不良",
            ),
            GradeText(
                3,
                "Inadequate oral caloric or fluid intake; tube feeding, TPN, or hospitalization "
                "indicated",
                "经口摄入的热量或液体不足；需要管饲、全胃肠外营养（TPN）或住院",
            ),
        ),
    ),
    CtcaeTerm(
        key="hyperglycemia",
        term_en="Hyperglycemia",
        term_zh="高血糖",
        soc_en="Metabolism and nutrition disorders",
        synonyms_en=(
            "hyperglycaemia",
            "high blood sugar",
            "high blood glucose",
            "high glucose",
            "high sugar",
        ),
        synonyms_zh=("血糖升高", "血糖高", "血糖增高"),
        grades=(
            GradeText(
                1,
                "Abnormal glucose above baseline with no medical intervention indicated",
                "血糖高于基线，无需医疗干预",
            ),
            GradeText(
                2,
                "Change in daily management of glucose; oral antiglycemic agent initiated; "
                "workup for diabetes",
                "需要改变日常血糖管理；开始口服降糖药；需要进行糖尿病相关检查",
            ),
            GradeText(
                3,
                "Insulin therapy initiated; hospitalization indicated",
                "开始胰岛素治疗；需要住院",
            ),
            _LIFE_THREATENING,
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="hypertension",
        term_en="Hypertension",
        term_zh="高血压",
        soc_en="Vascular disorders",
        synonyms_en=(
            "high blood pressure",
            "HTN",
            "raised blood pressure",
            "elevated blood pressure",
        ),
        synonyms_zh=("血压升高", "血压高", "血压增高"),
        grades=(
            GradeText(
                1,
                "Systolic BP 120 - 139 mm Hg or diastolic BP 80 - 89 mm Hg",
                "收缩压120-139 mmHg或舒张压80-89 mmHg",
            ),
            GradeText(
                2,
                "Systolic BP 140 - 159 mm Hg or diastolic BP 90 - 99 mm Hg if previously WNL; "
                "change in baseline medical intervention indicated; recurrent or persistent "
                "(≥24 hrs); symptomatic increase by >20 mm Hg (diastolic) or to >140/90 mm Hg; "
                "monotherapy indicated initiated",
                "既往血压正常者收缩压140-159 mmHg或舒张压90-99 mmHg；需要调整原有降压治疗；"
                "反复或持续（≥24小时）；有症状的舒张压升高>20 mmHg或升至>140/90 mmHg；"
                "需要开始单药治疗",
            ),
            GradeText(
                3,
                "Systolic BP ≥160 mm Hg or diastolic BP ≥100 mm Hg; medical intervention "
                "indicated; more than one drug or more intensive therapy than previously used "
                "indicated",
                "收缩压≥160 mmHg或舒张压≥100 mmHg；需要药物治疗；"
                "需要一种以上药物或比以往更强化的治疗",
            ),
            GradeText(
                4,
                "Life-threatening consequences (e.g., malignant hypertension, transient or "
                "permanent neurologic deficit, hypertensive crisis); urgent intervention indicated",
                "危及生命（如恶性高血压、一过性或永久性神经功能缺损、高血压危象）；需要紧急治疗",
            ),
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="tremor",
        term_en="Tremor",
        term_zh="震颤",
        soc_en="Nervous system disorders",
        synonyms_en=("tremors", "shaky hands", "hand tremor"),
        synonyms_zh=("手抖", "手颤"),
        grades=(
            GradeText(1, "Mild symptoms", "轻度症状"),
            GradeText(
                2,
                "Moderate symptoms; limiting instrumental ADL",
                "中度症状；工具性日常生活活动受限",
            ),
            GradeText(
                3, "Severe symptoms; limiting self care ADL", "重度症状；自理性日常生活活动受限"
            ),
        ),
    ),
    CtcaeTerm(
        key="creatinine_increased",
        term_en="Creatinine increased",
        term_zh="肌酐升高",
        soc_en="Investigations",
        synonyms_en=(
            "increased creatinine",
            "elevated creatinine",
            "creatinine elevated",
            "raised creatinine",
            "rising creatinine",
            "high creatinine",
            "serum creatinine increased",
        ),
        synonyms_zh=("血肌酐升高", "肌酐增高", "血肌酐增高", "肌酐高"),
        grades=(
            GradeText(1, ">ULN - 1.5 x ULN", ">正常值上限（ULN）至1.5倍ULN"),
            GradeText(
                2, ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN", ">1.5至3.0倍基线值；>1.5至3.0倍ULN"
            ),
            GradeText(3, ">3.0 x baseline; >3.0 - 6.0 x ULN", ">3.0倍基线值；>3.0至6.0倍ULN"),
            GradeText(4, ">6.0 x ULN", ">6.0倍ULN"),
        ),
    ),
    CtcaeTerm(
        key="white_blood_cell_decreased",
        term_en="White blood cell decreased",
        term_zh="白细胞减少",
        soc_en="Investigations",
        synonyms_en=(
            "leukopenia",
            "leucopenia",
            "WBC decreased",
            "low WBC",
            "white cell count decreased",
            "low white cell count",
            "low white blood cell count",
        ),
        synonyms_zh=("白细胞降低", "白细胞减少症", "白细胞计数降低", "白细胞低"),
        grades=(
            GradeText(
                1,
                "<LLN - 3000/mm3; <LLN - 3.0 x 10e9/L",
                "<正常值下限（LLN）至3000/mm3；<LLN至3.0×10^9/L",
            ),
            GradeText(
                2, "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9/L", "<3000至2000/mm3；<3.0至2.0×10^9/L"
            ),
            GradeText(
                3, "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9/L", "<2000至1000/mm3；<2.0至1.0×10^9/L"
            ),
            GradeText(4, "<1000/mm3; <1.0 x 10e9/L", "<1000/mm3；<1.0×10^9/L"),
        ),
    ),
    CtcaeTerm(
        key="neutrophil_count_decreased",
        term_en="Neutrophil count decreased",
        term_zh="中性粒细胞计数降低",
        soc_en="Investigations",
        synonyms_en=(
            "neutropenia",
            "ANC decreased",
            "low ANC",
            "low neutrophils",
            "neutrophils decreased",
        ),
        synonyms_zh=("中性粒细胞减少", "中性粒细胞减少症", "中性粒细胞降低", "粒细胞减少"),
        grades=(
            GradeText(
                1,
                "<LLN - 1500/mm3; <LLN - 1.5 x 10e9/L",
                "<正常值下限（LLN）至1500/mm3；<LLN至1.5×10^9/L",
            ),
            GradeText(
                2, "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9/L", "<1500至1000/mm3；<1.5至1.0×10^9/L"
            ),
            GradeText(
                3, "<1000 - 500/mm3; <1.0 - 0.5 x 10e9/L", "<1000至500/mm3；<1.0至0.5×10^9/L"
            ),
            GradeText(4, "<500/mm3; <0.5 x 10e9/L", "<500/mm3；<0.5×10^9/L"),
        ),
    ),
    CtcaeTerm(
        key="hyperkalemia",
        term_en="Hyperkalemia",
        term_zh="高钾血症",
        soc_en="Metabolism and nutrition disorders",
        synonyms_en=("hyperkalaemia", "high potassium", "raised potassium", "elevated potassium"),
        synonyms_zh=("高血钾", "血钾升高", "血钾高", "血钾增高"),
        grades=(
            GradeText(1, ">ULN - 5.5 mmol/L", ">正常值上限（ULN）至5.5 mmol/L"),
            GradeText(
                2, ">5.5 - 6.0 mmol/L; intervention initiated", ">5.5至6.0 mmol/L；已开始治疗"
            ),
            GradeText(
                3, ">6.0 - 7.0 mmol/L; hospitalization indicated", ">6.0至7.0 mmol/L；需要住院"
            ),
            GradeText(4, ">7.0 mmol/L; life-threatening consequences", ">7.0 mmol/L；危及生命"),
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="fever",
        term_en="Fever",
        term_zh="发热",
        soc_en="General disorders and administration site conditions",
        synonyms_en=("pyrexia", "febrile", "high temperature"),
        synonyms_zh=("发烧", "高烧", "体温升高"),
        grades=(
            GradeText(
                1,
                "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
                "38.0-39.0℃（100.4-102.2℉）",
            ),
            GradeText(
                2,
                ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
                ">39.0-40.0℃（102.3-104.0℉）",
            ),
            GradeText(
                3,
                ">40.0 degrees C (>104.0 degrees F) for ≤24 hrs",
                ">40.0℃（>104.0℉），持续≤24小时",
            ),
            GradeText(
                4,
                ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
                ">40.0℃（>104.0℉），持续>24小时",
            ),
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="depression",
        term_en="Depression",
        term_zh="抑郁",
        soc_en="Psychiatric disorders",
        synonyms_en=("depressed", "depressed mood", "low mood"),
        synonyms_zh=("抑郁症", "情绪低落", "心情低落"),
        grades=(
            GradeText(1, "Mild depressive symptoms", "轻度抑郁症状"),
            GradeText(
                2,
                "Moderate depressive symptoms; limiting instrumental ADL",
                "中度抑郁症状；工具性日常生活活动受限",
            ),
            GradeText(
                3,
                "Severe depressive symptoms; limiting self care ADL; hospitalization not indicated",
                "重度抑郁症状；自理性日常生活活动受限；无需住院",
            ),
            GradeText(
                4,
                "Life-threatening consequences, threats of harm to self or others; "
                "hospitalization indicated",
                "危及生命，有伤害自己或他人的威胁；需要住院",
            ),
            _DEATH,
        ),
    ),
    CtcaeTerm(
        key="insomnia",
        term_en="Insomnia",
        term_zh="失眠",
        soc_en="Psychiatric disorders",
        synonyms_en=("sleeplessness", "trouble sleeping", "cannot sleep", "can't sleep"),
        synonyms_zh=("失眠症", "睡不着", "入睡困难"),
        grades=(
            GradeText(
                1,
                "Mild difficulty falling asleep, staying asleep or waking up early",
                "轻度入睡困难、睡眠维持困难或早醒",
            ),
            GradeText(
                2,
                "Moderate difficulty falling asleep, staying asleep or waking up early",
                "中度入睡困难、睡眠维持困难或早醒",
            ),
            GradeText(
                3,
                "Severe difficulty in falling asleep, staying asleep or waking up early",
                "重度入睡困难、睡眠维持困难或早醒",
            ),
        ),
    ),
    CtcaeTerm(
        key="headache",
        term_en="Headache",
        term_zh="头痛",
        soc_en="Nervous system disorders",
        synonyms_en=("headaches",),
        synonyms_zh=("头疼",),
        grades=(
            GradeText(1, "Mild pain", "轻度疼痛"),
            GradeText(
                2, "Moderate pain; limiting instrumental ADL", "中度疼痛；工具性日常生活活动受限"
            ),
            GradeText(3, "Severe pain; limiting self care ADL", "重度疼痛；自理性日常生活活动受限"),
        ),
    ),
)
