"""Tests of the SogouQA and CMRC 2018 metrics on hand-computed cases (flaxnlp.metrics.qa)."""
import pytest

from flaxnlp.data.formats import DataFormatError
from flaxnlp.metrics import qa

BRICS = "巴西 俄罗斯 印度 中国 南非"


def gold(standard, *alternatives):
  return qa.SogouGold.make(standard, alternatives or (standard,))


def test_sogou_normalize():
  assert qa.sogou_normalize("ＡＢＣ，\u3000Ｄ！") == "abcd"  # full-width, U+3000, punctuation
  assert qa.sogou_normalize(" 《林海音》\t(Lin) ") == "林海音lin"
  assert qa.sogou_normalize("华特·迪士尼") == "华特迪士尼"
  assert qa.full_to_half_width("１２３ＡＢ\u3000") == "123AB "
  assert qa.SogouGold.make("x", ["A b"]).expansions == {"A b", "ab"}


@pytest.mark.parametrize("prediction,g,acc,f1", [
    ("", gold("林海音"), 0, 0.0),
    ("   ", gold("林海音"), 0, 0.0),
    ("《林海音》", gold("林海音"), 1, 1.0),
    ("ａｂｃ公司", gold("ABC公司"), 1, 1.0),
    # multi-part answer in another order, comma- or space-separated
    ("中国,巴西,俄罗斯,印度,南非", gold(BRICS), 1, 1.0),
    ("南非 中国 印度 俄罗斯 巴西", gold(BRICS), 1, 1.0),
    # a subset: P = 4/4, R = 4/11 -> F1 = 8/15
    ("中国 巴西", gold(BRICS), 0, 8 / 15),
    # multiplicity: P = 1, R = 2/3 -> 0.8; P = 3/4, R = 1 -> 6/7
    ("哈哈", gold("哈哈哈"), 0, 0.8),
    ("哈哈哈哈", gold("哈哈哈"), 0, 6 / 7),
    # max over the expansion set: vs 北京 2/3, vs 北京市 6/7
    ("北京市区", gold("北京", "北京", "北京市"), 0, 6 / 7),
    # the standard answer enters only the piece-set accuracy rule, F1 uses the expansions
    ("甲", gold("甲", "乙"), 1, 0.0),
    ("！！", gold("林海音"), 0, 0.0),
])
def test_sogou_accuracy_f1(prediction, g, acc, f1):
  assert qa.sogou_accuracy(prediction, g) == acc
  assert qa.sogou_f1(prediction, g) == pytest.approx(f1)


def test_sogou_evaluate_and_reader(tmp_path):
  path = tmp_path / "qid_answer_expand"
  path.write_text(f"1\t林海音\t林海音\n2\t{BRICS}\t{BRICS}\n3\t北京\t北京|北京市\n", encoding="utf-8")
  g = qa.read_answer_expand(path)
  assert g["3"] == qa.SogouGold("北京", frozenset({"北京", "北京市"}))
  scores = qa.sogou_evaluate({"1": "林海音", "2": "中国 巴西", "3": "北京市区"}, g)
  assert scores["accuracy"] == pytest.approx(1 / 3)
  assert scores["f1"] == pytest.approx((1 + 8 / 15 + 6 / 7) / 3)
  assert scores["final"] == pytest.approx((scores["accuracy"] + scores["f1"]) / 2)
  with pytest.raises(KeyError):
    qa.sogou_evaluate({"4": "x"}, g)
  with pytest.raises(ValueError):
    qa.sogou_evaluate({}, g)
  path.write_text("1\t林海音\t林海音\n2\t缺少一列\n", encoding="utf-8")
  with pytest.raises(DataFormatError) as info:
    qa.read_answer_expand(path)
  assert info.value.line == 2


def test_cmrc_segmentation():
  assert qa.cmrc_mixed_segmentation("Hello世界, ok-go!") == [
      "hello", "世", "界", ",", "ok", "-", "go", "!"]
  # with punctuation removal '-' is skipped and does not split the English run
  assert qa.cmrc_mixed_segmentation("Hello世界, ok-go!", remove_punctuation=True) == [
      "hello", "世", "界", ",", "okgo", "!"]
  assert qa.cmrc_mixed_segmentation("3.5亿") == ["3.5", "亿"]
  assert qa.cmrc_remove_punctuation(" 《战国无双3》。 ") == "战国无双3"


@pytest.mark.parametrize("prediction,answers,em,f1", [
    ("战国无双3", ["《战国无双3》"], 1, 1.0),
    ("战国无双 3", ["《战国无双3》"], 0, 1.0),  # EM keeps spaces, segmentation drops them
    ("", ["答案"], 0, 0.0),
    # tokens 光 荣 公 司 和 ωforce vs 光 荣 和 ωforce: longest common CONTIGUOUS run = 2
    # (a subsequence LCS would be 4): P = 2/6, R = 2/4 -> F1 = 0.4
    ("光荣公司和ω-force", ["光荣和ω-force"], 0, 0.4),
    # max over answers: vs 北京 P = 2/3, R = 1 -> 0.8; vs 北京市 exact
    ("北京市", ["北京", "北京市"], 1, 1.0),
    ("北京市", ["北京", "天津"], 0, 0.8),
])
def test_cmrc_em_f1(prediction, answers, em, f1):
  assert qa.cmrc_em(prediction, answers) == em
  assert qa.cmrc_f1(prediction, answers) == pytest.approx(f1)


def test_cmrc2018_evaluate():
  g = {"q1": ["北京", "北京市"], "q2": ["光荣和ω-force"], "q3": ["答案"]}
  scores = qa.cmrc2018_evaluate({"q1": "北京市", "q2": "光荣公司和ω-force"}, g)
  assert scores["f1"] == pytest.approx(100 * (1 + 0.4) / 3)
  assert scores["em"] == pytest.approx(100 / 3)
  assert scores["average"] == pytest.approx((scores["f1"] + scores["em"]) / 2)
  assert (scores["total"], scores["skip"]) == (3, 1)
