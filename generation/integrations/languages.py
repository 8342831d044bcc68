"""The bio languages offered in the task form, with the Faker locale the offline backend uses for
names in that language."""

BIO_LANGUAGES = {
    "Arabic": "ar_AA",
    "Chinese": "zh_CN",
    "Czech": "cs_CZ",
    "Danish": "da_DK",
    "Dutch": "nl_NL",
    "English": "en_US",
    "Finnish": "fi_FI",
    "French": "fr_FR",
    "German": "de_DE",
    "Greek": "el_GR",
    "Hebrew": "he_IL",
    "Hindi": "hi_IN",
    "Hungarian": "hu_HU",
    "Indonesian": "id_ID",
    "Italian": "it_IT",
    "Japanese": "ja_JP",
    "Korean": "ko_KR",
    "Norwegian": "no_NO",
    "Polish": "pl_PL",
    "Portuguese": "pt_BR",
    "Romanian": "ro_RO",
    "Russian": "ru_RU",
    "Spanish": "es_ES",
    "Swedish": "sv_SE",
    "Thai": "th_TH",
    "Turkish": "tr_TR",
    "Ukrainian": "uk_UA",
    "Vietnamese": "vi_VN",
}

# Scripts written right to left, by language code.
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur", "yi"}


def code(language: str) -> str:
    """The BCP 47 code of a bio language ("Arabic" -> "ar") for `lang`; "" for a language not offered."""
    locale = BIO_LANGUAGES.get(language.strip().title(), "")
    return locale.split("_")[0]


def direction(language: str) -> str:
    """ "rtl" or "ltr" for the `dir` of text in this language; "auto" when the language is not one offered, so the
    browser decides from the text itself."""
    found = code(language)
    if not found:
        return "auto"
    return "rtl" if found in RIGHT_TO_LEFT else "ltr"
