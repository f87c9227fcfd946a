"""The official VQA answer normalisation (``vqaEval.py`` of the VQA API, Agrawal et al.).

Reproduced as the official evaluation code does it, quirks included, so the answer vocabulary and
the soft targets match what VQA numbers are computed on:

* ``processPunctuation``: each punctuation mark of :data:`PUNCTUATION` is deleted when it touches a
  space or the text holds a digit-comma-digit group (``10,000``), else replaced by a space; then
  periods not next to a digit are deleted (``periodStrip``; the official pattern's look-behind is
  misspelt ``(?!<=\\d)``, and its ``re.UNICODE`` lands in the ``count`` argument, i.e. at most 32
  replacements: both kept);
* ``processDigitArticle``: lower-case, split on whitespace, number words ``none``/``zero`` ..
  ``ten`` become digits, the articles ``a``, ``an``, ``the`` are dropped, and contractions written
  without their apostrophe are restored (``dont`` -> ``don't``; the map's capitalised keys such as
  ``Im`` never match lower-cased words, as in the official code).

Standard library only.
"""

from __future__ import annotations

import re

#: vqaEval.punct
PUNCTUATION: tuple[str, ...] = (
    ";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!",
)

#: vqaEval.manualMap: number words -> digits
NUMBER_WORDS: dict[str, str] = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}

#: vqaEval.articles
ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})

#: vqaEval.periodStrip and vqaEval.commaStrip, verbatim
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")

#: vqaEval.contractions, verbatim (keys and values as the official code spells them)
CONTRACTIONS: dict[str, str] = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're",
    "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}


def process_punctuation(text: str) -> str:
    """vqaEval.processPunctuation.

    >>> process_punctuation("yes!")  # no space next to '!': replaced by a space
    'yes '
    >>> process_punctuation("t-shirt"), process_punctuation("10,000")
    ('t shirt', '10000')
    >>> process_punctuation("mr. smith"), process_punctuation("2.5")
    ('mr smith', '2.5')
    """
    out = text
    has_number_comma = COMMA_STRIP.search(text) is not None
    for p in PUNCTUATION:
        if (p + " " in text or " " + p in text) or has_number_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return PERIOD_STRIP.sub("", out, re.UNICODE)  # sic: re.UNICODE is the count, as in vqaEval.py


def process_digit_article(text: str) -> str:
    """vqaEval.processDigitArticle.

    >>> process_digit_article("Two Dogs"), process_digit_article("the red one")
    ('2 dogs', 'red 1')
    >>> process_digit_article("dont know")
    "don't know"
    """
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(answer: str) -> str:
    """An answer as the VQA evaluation compares it: whitespace, punctuation, then digits/articles.

    >>> normalize_answer("  A Dog. "), normalize_answer("Three"), normalize_answer("isnt")
    ('dog', '3', "isn't")
    """
    text = answer.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(text))
