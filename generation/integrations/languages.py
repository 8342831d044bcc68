"""The bio languages the task form offers. Each carries its BCP 47 code and direction, so a page can set the `lang`
and `dir` of the bios, and the Faker locale the offline backend draws names from: only a locale with female and male
first names of its own, since Faker quietly falls back to American names for the others ("" then)."""

from __future__ import annotations

from dataclasses import dataclass

# Primary subtags of the offered languages written right to left.
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur", "ps", "sd", "ug", "dv", "yi", "ckb"}

# Faker locales whose region part is no ISO 3166-1 country: ar_AA is Arabic at large, es_CA is Catalonia (not Canada).
_NOT_COUNTRIES = {"ar_AA", "es_CA"}


@dataclass(frozen=True)
class Language:
    name: str  # English name, as stored in generation_tasks.bio_language
    code: str  # BCP 47
    faker_locale: str  # a Faker locale with female and male first names of its own, else ""

    @property
    def rtl(self) -> bool:
        return self.code.split("-")[0] in RIGHT_TO_LEFT

    @property
    def country(self) -> str:
        """ISO 3166-1 alpha-2 of the Faker locale's region ("pt_PT" -> "PT"); "" when there is none."""
        _, _, region = self.faker_locale.partition("_")
        if self.faker_locale in _NOT_COUNTRIES or len(region) != 2 or not region.isalpha() or not region.isupper():
            return ""
        return region


_TABLE = [
    ("Afrikaans", "af", ""),
    ("Albanian", "sq", ""),
    ("Amharic", "am", ""),
    ("Arabic", "ar", "ar_AA"),
    ("Armenian", "hy", "hy_AM"),
    ("Assamese", "as", ""),
    ("Azerbaijani", "az", "az_AZ"),
    ("Basque", "eu", ""),
    ("Belarusian", "be", ""),
    ("Bengali", "bn", "bn_BD"),
    ("Bosnian", "bs", ""),
    ("Breton", "br", ""),
    ("Bulgarian", "bg", "bg_BG"),
    ("Burmese", "my", ""),
    ("Catalan", "ca", "es_CA"),
    ("Cebuano", "ceb", ""),
    ("Chinese", "zh", "zh_CN"),
    ("Chinese (Traditional)", "zh-Hant", "zh_TW"),
    ("Corsican", "co", ""),
    ("Croatian", "hr", "hr_HR"),
    ("Czech", "cs", "cs_CZ"),
    ("Danish", "da", "da_DK"),
    ("Dhivehi", "dv", ""),
    ("Dutch", "nl", "nl_NL"),
    ("Dutch (Belgium)", "nl-BE", "nl_BE"),
    ("English", "en", "en_US"),
    ("English (India)", "en-IN", "en_IN"),
    ("English (Ireland)", "en-IE", "en_IE"),
    ("English (UK)", "en-GB", "en_GB"),
    ("Esperanto", "eo", ""),
    ("Estonian", "et", "et_EE"),
    ("Faroese", "fo", ""),
    ("Filipino", "fil", ""),
    ("Finnish", "fi", "fi_FI"),
    ("French", "fr", "fr_FR"),
    ("French (Canada)", "fr-CA", "fr_CA"),
    ("Galician", "gl", ""),
    ("Georgian", "ka", "ka_GE"),
    ("German", "de", "de_DE"),
    ("German (Austria)", "de-AT", "de_AT"),
    ("German (Switzerland)", "de-CH", "de_CH"),
    ("Greek", "el", "el_GR"),
    ("Guarani", "gn", ""),
    ("Gujarati", "gu", "gu_IN"),
    ("Haitian Creole", "ht", ""),
    ("Hausa", "ha", "ha_NG"),
    ("Hawaiian", "haw", ""),
    ("Hebrew", "he", "he_IL"),
    ("Hindi", "hi", "hi_IN"),
    ("Hungarian", "hu", "hu_HU"),
    ("Icelandic", "is", "is_IS"),
    ("Igbo", "ig", "ig_NG"),
    ("Indonesian", "id", "id_ID"),
    ("Irish", "ga", "ga_IE"),
    ("Italian", "it", "it_IT"),
    ("Japanese", "ja", "ja_JP"),
    ("Javanese", "jv", ""),
    ("Kannada", "kn", ""),
    ("Kazakh", "kk", ""),
    ("Khmer", "km", ""),
    ("Kinyarwanda", "rw", ""),
    ("Korean", "ko", "ko_KR"),
    ("Kurdish (Kurmanji)", "kmr", ""),
    ("Kyrgyz", "ky", ""),
    ("Lao", "lo", ""),
    ("Latvian", "lv", "lv_LV"),
    ("Lingala", "ln", ""),
    ("Lithuanian", "lt", ""),
    ("Luxembourgish", "lb", ""),
    ("Macedonian", "mk", "mk_MK"),
    ("Malagasy", "mg", ""),
    ("Malay", "ms", ""),
    ("Malayalam", "ml", ""),
    ("Maltese", "mt", ""),
    ("Maori", "mi", ""),
    ("Marathi", "mr", "mr_IN"),
    ("Mongolian", "mn", ""),
    ("Nepali", "ne", "ne_NP"),
    ("Norwegian", "no", "no_NO"),
    ("Odia", "or", "or_IN"),
    ("Oromo", "om", ""),
    ("Pashto", "ps", ""),
    ("Persian", "fa", "fa_IR"),
    ("Polish", "pl", "pl_PL"),
    ("Portuguese", "pt-PT", "pt_PT"),
    ("Portuguese (Brazil)", "pt-BR", "pt_BR"),
    ("Punjabi", "pa", ""),
    ("Quechua", "qu", ""),
    ("Romanian", "ro", "ro_RO"),
    ("Russian", "ru", "ru_RU"),
    ("Samoan", "sm", ""),
    ("Scottish Gaelic", "gd", ""),
    ("Serbian", "sr", ""),
    ("Sesotho", "st", ""),
    ("Shona", "sn", ""),
    ("Sindhi", "sd", ""),
    ("Sinhala", "si", "si_LK"),
    ("Slovak", "sk", "sk_SK"),
    ("Slovenian", "sl", "sl_SI"),
    ("Somali", "so", ""),
    ("Sorani Kurdish", "ckb", ""),
    ("Spanish", "es", "es_ES"),
    ("Spanish (Argentina)", "es-AR", "es_AR"),
    ("Spanish (Mexico)", "es-MX", "es_MX"),
    ("Sundanese", "su", ""),
    ("Swahili", "sw", "sw"),
    ("Swedish", "sv", "sv_SE"),
    ("Tajik", "tg", ""),
    ("Tamil", "ta", "ta_IN"),
    ("Tatar", "tt", ""),
    ("Telugu", "te", ""),
    ("Thai", "th", "th_TH"),
    ("Tigrinya", "ti", ""),
    ("Tongan", "to", ""),
    ("Turkish", "tr", "tr_TR"),
    ("Turkmen", "tk", ""),
    ("Twi", "tw", "tw_GH"),
    ("Ukrainian", "uk", "uk_UA"),
    ("Urdu", "ur", ""),
    ("Uyghur", "ug", ""),
    ("Uzbek", "uz", "uz_UZ"),
    ("Vietnamese", "vi", "vi_VN"),
    ("Welsh", "cy", ""),
    ("Western Frisian", "fy", ""),
    ("Wolof", "wo", ""),
    ("Xhosa", "xh", ""),
    ("Yiddish", "yi", ""),
    ("Yoruba", "yo", "yo_NG"),
    ("Zulu", "zu", "zu_ZA"),
]

LANGUAGES: tuple[Language, ...] = tuple(sorted((Language(*row) for row in _TABLE), key=lambda language: language.name))
BIO_LANGUAGES: dict[str, Language] = {language.name: language for language in LANGUAGES}
_BY_FOLDED_NAME = {language.name.casefold(): language for language in LANGUAGES}


def find(language: str) -> Language | None:
    """The offered language of this name, whatever its case and surrounding spaces; None for one not offered."""
    return _BY_FOLDED_NAME.get(language.strip().casefold())


def code(language: str) -> str:
    """The BCP 47 code of a bio language ("Arabic" -> "ar") for `lang`; "" for a language not offered."""
    found = find(language)
    return found.code if found else ""


def direction(language: str) -> str:
    """ "rtl" or "ltr" for the `dir` of text in this language; "auto" when the language is not one offered, so the
    browser decides from the text itself."""
    found = find(language)
    if found is None:
        return "auto"
    return "rtl" if found.rtl else "ltr"


def label(language: Language) -> str:
    """The form's label: the name, and a mark for the languages written right to left."""
    return f"{language.name} (right to left)" if language.rtl else language.name
