"""Stance, the eighth round (issue 19): every language in the real-text labels reads its own
cue lists, written by construction (the ordinary newsroom words for attribution, hedges,
denials), not from the errors of the splits. Every sentence here was written for these tests
(a paraphrase of the shapes coverage takes); none is copied from an article.

Each language is shown four ways: the claim stated bare (asserts), hedged (reports),
attributed (reports) and denied (disputes).
"""

import json
from pathlib import Path

import pytest

from narrative_archive.analysis.sentences import sentence_span
from narrative_archive.analysis.stance import classify_stance, default_cues

LABELS = Path(__file__).resolve().parents[1] / "benchmarks" / "realtext" / "labels.jsonl"

# language: (terms, bare claim, hedged, attributed, denied)
CASES = {
    # -- East and South-East Asia -------------------------------------------------------
    "zh": (["俄罗斯", "塔利班"],
           "俄罗斯向塔利班提供武器",
           "俄罗斯似乎向塔利班提供武器",
           "知情人士披露俄罗斯向塔利班提供武器",
           "俄罗斯向塔利班提供武器一说纯属无中生有"),
    "ja": (["ロシア", "タリバン"],
           "ロシアがタリバンに武器を供与している",
           "ロシアがタリバンに武器を供与しているようだ",
           "米当局者によれば、ロシアがタリバンに武器を供与している",
           "ロシアがタリバンに武器を供与しているとの話はでっち上げだ"),
    "ko": (["러시아", "탈레반"],
           "러시아가 탈레반에 무기를 지원한다",
           "러시아가 탈레반에 무기를 지원한 것으로 보인다",
           "러시아가 탈레반에 무기를 지원한다고 미군 사령관이 밝혔다",
           "러시아 외무부는 탈레반에 무기를 지원했다는 보도를 부인했다"),
    "vi": (["nga", "taliban"],
           "Nga cung cấp vũ khí cho Taliban",
           "Nga có thể cung cấp vũ khí cho Taliban",
           "Nga cung cấp vũ khí cho Taliban, quan chức Mỹ cho hay",
           "Thông tin Nga cung cấp vũ khí cho Taliban là xuyên tạc"),
    "id": (["rusia", "taliban", "senjata"],
           "Rusia memasok senjata kepada Taliban",
           "Rusia diduga memasok senjata kepada Taliban",
           "Rusia memasok senjata kepada Taliban, kata pejabat Afghanistan",
           "Rusia membantah memasok senjata kepada Taliban"),
    # -- Germanic and Nordic -------------------------------------------------------------
    "nl": (["rusland", "taliban", "wapens"],
           "Rusland levert wapens aan de taliban",
           "Rusland zou wapens leveren aan de taliban",
           "Rusland levert wapens aan de taliban, volgens Amerikaanse functionarissen",
           "Moskou ontkent dat Rusland wapens levert aan de taliban"),
    "da": (["rusland", "taliban", "våben"],
           "Rusland leverer våben til Taliban",
           "Rusland leverer angiveligt våben til Taliban",
           "Rusland leverer våben til Taliban, siger en amerikansk general",
           "Moskva afviser at Rusland leverer våben til Taliban"),
    "no": (["russland", "taliban", "våpen"],
           "Russland gir våpen til Taliban",
           "Russland gir visstnok våpen til Taliban",
           "Russland gir våpen til Taliban, ifølge amerikanske kilder",
           "Moskva benekter at Russland gir våpen til Taliban"),
    "sv": (["ryssland", "talibanerna", "vapen"],
           "Ryssland ger vapen till talibanerna",
           "Ryssland ska ha gett vapen till talibanerna",
           "Ryssland ger vapen till talibanerna, uppger amerikanska källor",
           "Moskva förnekar att Ryssland ger vapen till talibanerna"),
    # -- Central and Eastern Europe, the Baltic, the Balkans ------------------------------
    "sl": (["rusij", "taliban"],
           "Rusija dobavlja orožje talibanom",
           "Rusija naj bi dobavljala orožje talibanom",
           "Rusija dobavlja orožje talibanom, je dejal ameriški general",
           "Moskva zanika, da Rusija dobavlja orožje talibanom"),
    "hu": (["oroszország", "táliboknak", "fegyvert"],
           "Oroszország fegyvert ad a táliboknak",
           "Oroszország fegyvert adhatott a táliboknak",
           "Oroszország fegyvert ad a táliboknak, közölte egy amerikai tábornok",
           "Moszkva tagadja, hogy Oroszország fegyvert ad a táliboknak"),
    "el": (["ρωσία", "ταλιμπάν", "όπλα"],
           "Η Ρωσία δίνει όπλα στους Ταλιμπάν",
           "Η Ρωσία φέρεται να δίνει όπλα στους Ταλιμπάν",
           "Η Ρωσία δίνει όπλα στους Ταλιμπάν, σύμφωνα με αμερικανούς αξιωματούχους",
           "Η Μόσχα διαψεύδει ότι η Ρωσία δίνει όπλα στους Ταλιμπάν"),
    "sq": (["rusia", "talibanëve", "armë"],
           "Rusia u jep armë talibanëve",
           "Rusia gjoja u jep armë talibanëve",
           "Rusia u jep armë talibanëve, sipas zyrtarëve amerikanë",
           "Moska mohon se Rusia u jep armë talibanëve"),
    "lt": (["rusija", "talibanams", "ginklus"],
           "Rusija tiekia ginklus talibanams",
           "Rusija neva tiekia ginklus talibanams",
           "Rusija tiekia ginklus talibanams, teigia JAV generolas",
           "Maskva neigia, kad Rusija tiekia ginklus talibanams"),
    "et": (["venemaa", "talibanidele", "relvi"],
           "Venemaa annab talibanidele relvi",
           "Venemaa annab väidetavalt talibanidele relvi",
           "Venemaa annab talibanidele relvi, teatas USA kindral",
           "Moskva eitab, et Venemaa annab talibanidele relvi"),
    "sk": (["rusko", "talibanom", "zbrane"],
           "Rusko dodáva zbrane talibanom",
           "Rusko vraj dodáva zbrane talibanom",
           "Rusko dodáva zbrane talibanom, uviedol americký generál",
           "Moskva poprela, že Rusko dodáva zbrane talibanom"),
    "cs": (["rusko", "talibanům", "zbraně"],
           "Rusko dodává zbraně talibanům",
           "Rusko patrně dodává zbraně talibanům",
           "Rusko dodává zbraně talibanům, informoval americký generál",
           "Moskva odmítá, že Rusko dodává zbraně talibanům"),
    "sr": (["русија", "талибанима", "оружје"],
           "Русија даје оружје талибанима",
           "Русија вероватно даје оружје талибанима",
           "Русија даје оружје талибанима, упозорио је амерички генерал",
           "Москва оповргла да Русија даје оружје талибанима"),
    "hr": (["rusija", "talibanima", "oružje"],
           "Rusija daje oružje talibanima",
           "Rusija vjerojatno daje oružje talibanima",
           "Rusija daje oružje talibanima, priopćio je američki general",
           "Moskva kaže da su napisi o ruskom oružju talibanima neutemeljeni"),
    "bg": (["русия", "талибаните", "оръжие"],
           "Русия дава оръжие на талибаните",
           "Русия уж дава оръжие на талибаните",
           "Русия дава оръжие на талибаните, посочи американски генерал",
           "Москва отрече, че Русия дава оръжие на талибаните"),
    "mk": (["русија", "талибанците", "оружје"],
           "Русија дава оружје на талибанците",
           "Русија веројатно дава оружје на талибанците",
           "Русија дава оружје на талибанците, истакна американски генерал",
           "Москва ги побива тврдењата дека Русија дава оружје на талибанците"),
    # -- the Middle East and the Caucasus -------------------------------------------------
    "hy": (["ռուսաստան", "թալիբ"],
           "Ռուսաստանը զենք է մատակարարում թալիբներին",
           "Ռուսաստանը իբր զենք է մատակարարում թալիբներին",
           "Ըստ ամերիկյան գեներալի՝ Ռուսաստանը զենք է մատակարարում թալիբներին",
           "Մոսկվան հերքել է, որ Ռուսաստանը զենք է մատակարարում թալիբներին"),
    "he": (["רוסיה", "לטליבאן", "נשק"],
           "רוסיה מעבירה נשק לטליבאן",
           "רוסיה ככל הנראה מעבירה נשק לטליבאן",
           "רוסיה מעבירה נשק לטליבאן, לדברי גנרל אמריקאי",
           "מוסקבה הכחישה את הדיווח כי רוסיה מעבירה נשק לטליבאן"),
    "ka": (["რუსეთი", "თალიბებს", "იარაღს"],
           "რუსეთი თალიბებს იარაღს აწვდის",
           "რუსეთი სავარაუდოდ თალიბებს იარაღს აწვდის",
           "რუსეთი თალიბებს იარაღს აწვდის, განაცხადა ამერიკელმა გენერალმა",
           "მოსკოვმა უარყო, რომ რუსეთი თალიბებს იარაღს აწვდის"),
    "az": (["rusiya", "talibana", "silah"],
           "Rusiya Talibana silah verir",
           "Rusiya guya Talibana silah verir",
           "Rusiya Talibana silah verir, ABŞ generalı bəyan edib",
           "Moskva Rusiyanın Talibana silah verdiyi barədə xəbərləri təkzib edib"),
    # -- South Asia ----------------------------------------------------------------------
    "bn": (["রাশিয়া", "তালিবানকে", "অস্ত্র"],
           "রাশিয়া তালিবানকে অস্ত্র দিচ্ছে",
           "রাশিয়া সম্ভবত তালিবানকে অস্ত্র দিচ্ছে",
           "মার্কিন জেনারেলের মতে রাশিয়া তালিবানকে অস্ত্র দিচ্ছে",
           "রাশিয়া তালিবানকে অস্ত্র দিচ্ছে এমন খবর নাকচ করল মস্কো"),
    "ta": (["ரஷ்யா", "தலிபான்களுக்கு", "ஆயுதங்கள்"],
           "ரஷ்யா தலிபான்களுக்கு ஆயுதங்கள் வழங்குகிறது",
           "ரஷ்யா ஒருவேளை தலிபான்களுக்கு ஆயுதங்கள் வழங்குகிறது",
           "ரஷ்யா தலிபான்களுக்கு ஆயுதங்கள் வழங்குவதாக அமெரிக்க ஜெனரல் கூறியது",
           "ரஷ்யா தலிபான்களுக்கு ஆயுதங்கள் வழங்குவதை மாஸ்கோ மறுத்துள்ளது"),
    "te": (["రష్యా", "తాలిబన్లకు", "ఆయుధాలు"],
           "రష్యా తాలిబన్లకు ఆయుధాలు ఇస్తోంది",
           "రష్యా బహుశా తాలిబన్లకు ఆయుధాలు ఇస్తోంది",
           "రష్యా తాలిబన్లకు ఆయుధాలు ఇస్తోందని అమెరికా జనరల్ చెప్పారు",
           "రష్యా తాలిబన్లకు ఆయుధాలు ఇస్తోందన్న వార్తలను మాస్కో ఖండించింది"),
    "ml": (["റഷ്യ", "താലിബാന്", "ആയുധങ്ങൾ"],
           "റഷ്യ താലിബാന് ആയുധങ്ങൾ നൽകുന്നു",
           "റഷ്യ ഒരുപക്ഷേ താലിബാന് ആയുധങ്ങൾ നൽകുന്നു",
           "റഷ്യ താലിബാന് ആയുധങ്ങൾ നൽകുന്നുവെന്ന് അമേരിക്കൻ ജനറൽ പറഞ്ഞു",
           "റഷ്യ താലിബാന് ആയുധങ്ങൾ നൽകുന്നുവെന്ന വാർത്ത മോസ്കോ നിഷേധിച്ചു"),
    "gu": (["રશિયા", "તાલિબાનને", "હથિયાર"],
           "રશિયા તાલિબાનને હથિયાર આપે છે",
           "રશિયા કદાચ તાલિબાનને હથિયાર આપે છે",
           "રશિયા તાલિબાનને હથિયાર આપે છે, અમેરિકી જનરલે જણાવ્યું",
           "રશિયા તાલિબાનને હથિયાર આપે છે એ વાત મોસ્કોએ ફગાવી દીધી"),
    "mr": (["रशिया", "तालिबानला", "शस्त्रे"],
           "रशिया तालिबानला शस्त्रे पुरवतो",
           "रशिया कदाचित तालिबानला शस्त्रे पुरवतो",
           "रशिया तालिबानला शस्त्रे पुरवतो, असे अमेरिकी जनरल म्हणाले",
           "रशिया तालिबानला शस्त्रे पुरवतो ही बातमी मॉस्कोने फेटाळली"),
    "ne": (["रुसले", "तालिबानलाई", "हतियार"],
           "रुसले तालिबानलाई हतियार दिन्छ",
           "रुसले सम्भवतः तालिबानलाई हतियार दिन्छ",
           "रुसले तालिबानलाई हतियार दिन्छ, अमेरिकी जनरलले बताए",
           "रुसले तालिबानलाई हतियार दिन्छ भन्ने समाचार मस्कोले खण्डन गर्‍यो"),
}


def stance(language, title, terms):
    return classify_stance(title, "", terms, language=language)


@pytest.mark.parametrize("language", sorted(CASES))
def test_a_language_reads_a_bare_claim_a_hedge_an_attribution_and_a_denial(language):
    terms, bare, hedged, attributed, denied = CASES[language]
    assert stance(language, bare, terms).stance == "asserts"
    assert stance(language, hedged, terms).stance == "reports"
    assert stance(language, attributed, terms).stance == "reports"
    result = stance(language, denied, terms)
    assert result.stance == "disputes", result.evidence
    assert result.language == language  # its own lists, not English's


def test_khmer_reads_cues_inside_its_runs_of_letters_and_ends_sentences_at_khan():
    """Khmer writes no space between words and ends a sentence with ។; its vowel signs are
    marks, which \\w alone would split a word at."""
    terms = ["រុស្ស៊ី", "តាលីបង់"]
    assert stance("km", "រុស្ស៊ីផ្គត់ផ្គង់អាវុធដល់តាលីបង់", terms).stance == "asserts"
    assert stance("km", "មន្ត្រីអាមេរិកនិយាយថារុស្ស៊ីផ្គត់ផ្គង់អាវុធដល់តាលីបង់", terms).stance == "reports"
    denied = stance("km", "រុស្ស៊ីបដិសេធការចោទប្រកាន់ថាខ្លួនផ្គត់ផ្គង់អាវុធដល់តាលីបង់", terms)
    assert (denied.stance, denied.language) == ("disputes", "km")
    text = "ក្រសួងការបរទេសរុស្ស៊ីបានបដិសេធការចោទប្រកាន់។ ម៉ូស្គូផ្គត់ផ្គង់អាវុធដល់តាលីបង់។ ព័ត៌មានផ្សេង"
    start, end = sentence_span(text, text.index("ម៉ូស្គូ") + 3)
    assert text[start:end].strip() == "ម៉ូស្គូផ្គត់ផ្គង់អាវុធដល់តាលីបង់។"


def test_every_language_of_the_labels_has_its_own_cue_lists():
    languages = {json.loads(line).get("language") for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert {"no", "hu", "he", "ko", "id"} <= languages
    assert sorted(languages - {None} - set(default_cues())) == []


def test_hungarian_six_and_to_affect_are_not_the_modal_suffix():
    terms = ["tálibok", "fegyverek"]
    assert stance("hu", "Hat orosz fegyverek jutott a tálibok kezébe", terms).stance == "asserts"
    assert stance("hu", "A tálibok orosz fegyverek kaphattak", terms).stance == "reports"


def test_hebrew_reads_a_cue_behind_its_clitic_prefixes_but_not_behind_a_preposition():
    terms = ["רוסיה", "לטליבאן"]
    assert stance("he", "רוסיה מעבירה נשק לטליבאן, והכחישה זאת מוסקבה", terms).stance == "disputes"
    # מלא ("full") is not ל+א negation read behind the preposition מ
    assert stance("he", "שיתוף פעולה מלא בין רוסיה לטליבאן", terms).stance == "asserts"


def test_japanese_to_iu_as_a_nominaliser_is_no_hearsay():
    terms = ["ロシア", "タリバン"]
    assert stance("ja", "ロシアとタリバンは安定という点で利益を共有", terms).stance == "asserts"
    assert stance("ja", "ロシアがタリバンに武器を渡したという", terms).stance == "reports"


def test_norwegian_is_a_language_code_not_a_yaml_false():
    assert "no" in default_cues() and default_cues()["no"].denial


def test_the_urdu_full_stop_ends_a_sentence():
    from narrative_archive.analysis.sentences import sentence
    text = "امریکی وزیر نے الزام لگایا ہے۔ روس نے اس کی تردید کی ہے۔ مزید تفصیل"
    assert sentence(text, text.index("روس")) == "روس نے اس کی تردید کی ہے۔"
    # a denial closing an Urdu story no longer shares one "sentence" with the accusation before it
    body = ("امریکی جنرل کا کہنا ہے کہ روس طالبان کو ہتھیار فراہم کر رہا ہے۔ "
            "جنرل نے یہ بات کابل میں صحافیوں سے گفتگو میں کہی۔ "
            "روسی وزارت خارجہ نے اس الزام کی تردید کی ہے۔")
    result = classify_stance("", body, ["روس", "طالبان"], language="ur")
    assert result.stance == "reports", result.evidence


def test_words_with_a_second_sense_are_no_cues():
    # Greek "κατά την" is also "during"; Japanese 疑いない is "there is no doubt"
    assert stance("el", "Οι Ταλιμπάν πήραν όπλα από τη Ρωσία κατά την αποχώρηση", ["ταλιμπάν", "ρωσία"]).stance == "asserts"
    assert stance("ja", "ロシアがタリバンを支援しているのは疑いない", ["ロシア", "タリバン"]).stance == "asserts"
    assert stance("ja", "ロシアがタリバンを支援している疑いがある", ["ロシア", "タリバン"]).stance == "reports"


def test_german_reported_speech_in_the_subjunctive_is_a_relay():
    terms = ["russland", "taliban", "waffen"]
    assert stance("de", "Russland liefert den Taliban Waffen", terms).stance == "asserts"
    assert stance("de", "Russland habe den Taliban Waffen geliefert", terms).stance == "reports"
    assert stance("de", "Russland solle den Taliban Waffen liefern", terms).stance == "reports"
