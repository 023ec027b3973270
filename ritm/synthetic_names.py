"""Word lists for the synthetic base: names by culture, places by timezone, topics, transliteration.

Plain data, kept apart from the generator so the generator reads as a recipe. Weights are relative.
"""

from __future__ import annotations

from typing import NamedTuple


class Culture(NamedTuple):
    """First names (female, male) and surnames; `feminine` turns a surname female (Иванов → Иванова)."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    feminine: bool


RUSSIAN = Culture(
    female=("Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина", "Светлана",
            "Юлия", "Дарья", "Анастасия", "Ксения", "Алина", "Виктория", "Полина", "Марина", "Вера",
            "Людмила", "Софья"),
    male=("Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Иван", "Михаил", "Максим", "Павел",
          "Николай", "Егор", "Артём", "Владимир", "Илья", "Роман", "Кирилл", "Олег", "Пётр"),
    surnames=("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
              "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
              "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
              "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
              "Сергеев", "Кузьмин", "Фролов", "Белов", "Ковальчук", "Шевченко", "Бондаренко", "Чёрных"),
    feminine=True,
)  # fmt: skip
TATAR_BASHKIR = Culture(
    female=("Гульнара", "Алсу", "Лейсан", "Айгуль", "Резеда", "Динара"),
    male=("Ринат", "Айдар", "Тимур", "Рустам", "Ильдар", "Марат"),
    surnames=("Галиев", "Хабибуллин", "Сафин", "Закиров", "Валиев", "Гарипов", "Исмагилов"),
    feminine=True,
)
KAZAKH = Culture(
    female=("Айгерим", "Динара", "Жанна", "Асель", "Камила"),
    male=("Нурлан", "Ерлан", "Данияр", "Асхат", "Бауыржан"),
    surnames=("Ахметов", "Серикбаев", "Жумабеков", "Касымов", "Нурпеисов"),
    feminine=True,
)
GEORGIAN = Culture(
    female=("Нино", "Тамара", "Мариам", "Кетеван"),
    male=("Георгий", "Давид", "Леван", "Ираклий"),
    surnames=("Беридзе", "Гелашвили", "Капанадзе", "Мамедашвили", "Церетели"),
    feminine=False,
)
GERMAN = Culture(
    female=("Anna", "Lena", "Sophie", "Katharina", "Julia"),
    male=("Lukas", "Felix", "Jonas", "Maximilian", "Paul"),
    surnames=("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"),
    feminine=False,
)
ENGLISH = Culture(
    female=("Emily", "Olivia", "Sarah", "Jessica", "Emma"),
    male=("James", "Michael", "David", "Daniel", "Ryan"),
    surnames=("Johnson", "Smith", "Brown", "Miller", "O'Connor", "Davis"),
    feminine=False,
)
INDIAN = Culture(
    female=("Priya", "Ananya", "Divya", "Kavya"),
    male=("Arjun", "Rahul", "Vikram", "Rohan"),
    surnames=("Sharma", "Patel", "Das", "Iyer", "Reddy"),
    feminine=False,
)
NEPALI = Culture(
    female=("Sita", "Anjali", "Pooja"),
    male=("Ram", "Bikash", "Suman"),
    surnames=("Shrestha", "Thapa", "Gurung", "Rai"),
    feminine=False,
)


class Zone(NamedTuple):
    """An IANA zone with its weight in the base, its places, locale and the cultures living there."""

    tz: str
    weight: float
    places: tuple[str, ...]
    locale: str
    cultures: tuple[Culture, ...]


_RU = (RUSSIAN, RUSSIAN, RUSSIAN, RUSSIAN, TATAR_BASHKIR)
ZONES = (
    Zone("Europe/Moscow", 40, ("Москва", "Санкт-Петербург", "Казань", "Нижний Новгород", "Воронеж",
         "Ростов-на-Дону", "Краснодар", "Ярославль"), "ru", _RU),
    Zone("Europe/Kaliningrad", 2, ("Калининград",), "ru", _RU),
    Zone("Europe/Samara", 4, ("Самара", "Ижевск", "Тольятти"), "ru", _RU),
    Zone("Asia/Yekaterinburg", 9, ("Екатеринбург", "Челябинск", "Пермь", "Тюмень", "Уфа"), "ru", _RU),
    Zone("Asia/Omsk", 3, ("Омск",), "ru", _RU),
    Zone("Asia/Novosibirsk", 6, ("Новосибирск", "Барнаул"), "ru", _RU),
    Zone("Asia/Krasnoyarsk", 4, ("Красноярск", "Абакан"), "ru", _RU),
    Zone("Asia/Irkutsk", 3, ("Иркутск", "Улан-Удэ"), "ru", _RU),
    Zone("Asia/Yakutsk", 1, ("Якутск", "Чита"), "ru", _RU),
    Zone("Asia/Vladivostok", 3, ("Владивосток", "Хабаровск"), "ru", _RU),
    Zone("Asia/Magadan", 0.5, ("Магадан",), "ru", _RU),
    Zone("Asia/Kamchatka", 0.5, ("Петропавловск-Камчатский",), "ru", _RU),
    Zone("Europe/Berlin", 2, ("Берлин", "Мюнхен"), "en", (RUSSIAN, GERMAN)),
    Zone("Asia/Almaty", 2, ("Алматы", "Астана"), "ru", (KAZAKH, RUSSIAN)),
    Zone("Asia/Tbilisi", 1, ("Тбилиси", "Батуми"), "ru", (GEORGIAN, RUSSIAN)),
    Zone("America/New_York", 1, ("Нью-Йорк",), "en", (ENGLISH, RUSSIAN)),
    Zone("Asia/Kolkata", 0.7, ("Бангалор", "Гоа"), "en", (INDIAN, RUSSIAN)),
    Zone("Asia/Kathmandu", 0.3, ("Катманду",), "en", (NEPALI,)),
    # No timezone in the export: the policy's default zone applies when it is used.
    Zone("", 8, ("Москва", "Тверь", "Тула", ""), "ru", _RU),
)  # fmt: skip

INTERESTS = ("продажи", "реактивация базы", "воронки", "контент", "запуск курса", "команда и найм",
             "финансы школы", "маркетинг в Telegram", "email-маркетинг", "удержание учеников")  # fmt: skip

_TRANSLIT = dict(
    zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяü", [
        "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
        "t", "u", "f", "kh", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya", "ue",
    ], strict=True)
)  # fmt: skip


def translit(text: str) -> str:
    """A lowercase ASCII handle for an email local part (`Фёдорова` → `fedorova`, `O'Connor` → `oconnor`)."""
    out = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    return "".join(ch for ch in out if ch.isascii() and ch.isalnum())


def feminine_surname(surname: str) -> str:
    """Russian-style female surname: -ов/-ев/-ин/-ын → +а, -ский → -ская; others stay."""
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname
