"""Deterministic generator of KION-shaped demo data (the app's embedded default dataset).

The three tables have exactly the columns of MTS KION's ``interactions.csv``,
``items_en.csv`` and ``users_en.csv``. The catalogue reads like a streaming service's
(English titles, franchises with "Season 1..N" and sequels "Part 2"), and the
interactions carry sequential habits a SASRec model can learn:

* every user prefers 1-3 genres (tilted by age, sex and kids), item popularity is Zipf-skewed;
* franchise items are watched in order (Season 1, then 2, then 3 ...), more so after a
  well-watched previous part;
* every other item has a few fixed "next" items (a first-order Markov chain), so the
  previous item predicts the next one far better than popularity does.

Everything is vectorised with numpy: the only Python loops run over catalogue items and
over sequence positions, so KION's full size (960k users, 15.7k items, ~5.4M
interactions) generates in seconds.
"""
from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_USERS",
    "DEFAULT_ITEMS",
    "DEFAULT_SEED",
    "DEMO_FILES",
    "INTERACTIONS_FILE",
    "ITEMS_FILE",
    "USERS_FILE",
    "GENRES",
    "INTERACTION_COLUMNS",
    "ITEM_COLUMNS",
    "USER_COLUMNS",
    "DemoTables",
    "generate_demo",
    "write_demo",
]

#: Default number of users / items / seed of the embedded demo dataset.
DEFAULT_USERS: int = 8000
DEFAULT_ITEMS: int = 1200
DEFAULT_SEED: int = 42

#: File names, as in the KION release.
INTERACTIONS_FILE = "interactions.csv"
ITEMS_FILE = "items_en.csv"
USERS_FILE = "users_en.csv"
#: Every file ``write_demo`` writes.
DEMO_FILES = (INTERACTIONS_FILE, ITEMS_FILE, USERS_FILE)

#: Columns of the three tables, in file order (items / users files also have an unnamed index first).
INTERACTION_COLUMNS = ["user_id", "item_id", "last_watch_dt", "total_dur", "watched_pct"]
ITEM_COLUMNS = [
    "item_id", "content_type", "title", "title_orig", "release_year", "genres", "countries",
    "for_kids", "age_rating", "studios", "directors", "actors", "description", "keywords",
]
USER_COLUMNS = ["user_id", "age", "income", "sex", "kids_flg"]

#: First and last day of KION's interactions.
FIRST_DAY = np.datetime64("2021-03-13", "D")
LAST_DAY = np.datetime64("2021-08-22", "D")

# --------------------------------------------------------------------------- vocabulary

#: The genres, with their share of catalogue items (as primary genre).
GENRES: tuple[str, ...] = (
    "drama", "comedy", "thrillers", "action", "crime", "detective", "horror", "fantasy",
    "sci-fi", "romance", "cartoons", "family", "documentary", "adventure", "history",
)
_GENRE_SHARE = np.array(
    [0.17, 0.12, 0.09, 0.08, 0.06, 0.05, 0.06, 0.05, 0.05, 0.06, 0.07, 0.04, 0.05, 0.05, 0.03]
)
_G = {g: i for i, g in enumerate(GENRES)}
# Genres that go well together with a primary genre (secondary genres are drawn from these).
_GENRE_PARTNERS: dict[str, tuple[str, ...]] = {
    "drama": ("romance", "history", "crime", "comedy", "thrillers", "family"),
    "comedy": ("romance", "family", "drama", "adventure", "crime"),
    "thrillers": ("crime", "detective", "drama", "action", "horror"),
    "action": ("adventure", "thrillers", "sci-fi", "crime", "comedy", "fantasy"),
    "crime": ("detective", "thrillers", "drama", "action"),
    "detective": ("crime", "thrillers", "drama"),
    "horror": ("thrillers", "fantasy", "detective"),
    "fantasy": ("adventure", "action", "family", "romance", "horror"),
    "sci-fi": ("action", "adventure", "thrillers", "drama"),
    "romance": ("comedy", "drama", "family"),
    "cartoons": ("family", "adventure", "comedy", "fantasy"),
    "family": ("comedy", "adventure", "cartoons", "fantasy", "drama"),
    "documentary": ("history", "crime", "family", "adventure"),
    "adventure": ("action", "fantasy", "family", "comedy", "sci-fi"),
    "history": ("drama", "action", "documentary", "romance"),
}

_COUNTRIES = (
    "USA", "Russia", "UK", "France", "Germany", "Spain", "Italy", "Japan", "South Korea",
    "Canada", "Australia", "India", "Sweden", "Denmark",
)
_COUNTRY_SHARE = np.array(
    [0.34, 0.22, 0.09, 0.07, 0.04, 0.04, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02, 0.015, 0.015]
)
_ENGLISH_COUNTRIES = {"USA", "UK", "Canada", "Australia", "India"}

_ADJ = (
    "Silent", "Dark", "Golden", "Hidden", "Last", "Lost", "Broken", "Crimson", "Frozen",
    "Secret", "Wild", "Quiet", "Burning", "Endless", "Distant", "Forgotten", "Bright",
    "Hollow", "Iron", "Scarlet", "Shadow", "Midnight", "Northern", "Southern", "Eternal",
    "Restless", "Savage", "Gentle", "Little", "Great", "Final", "First", "Long", "Perfect",
    "Invisible", "Wicked", "Brave", "Lonely", "Sleeping", "Falling", "Rising", "Stolen",
    "Deadly", "Sweet", "Bitter", "Electric", "Velvet", "Black", "White", "Blue", "Red",
    "Green", "Silver", "Ancient", "Sacred", "Hungry", "Lucky", "Strange", "Royal", "Cold",
    "Summer", "Winter", "Autumn", "Neon", "Paper", "Glass", "Stone", "Wandering", "Fearless",
)
_NOUN = (
    "Harbor", "Express", "River", "Garden", "Kingdom", "Witness", "Promise", "Storm",
    "Journey", "Horizon", "Legacy", "Secret", "Island", "Empire", "Mirror", "Shadow",
    "Signal", "Frontier", "Winter", "Summer", "Heart", "Code", "Game", "Bridge", "Road",
    "City", "Forest", "Ocean", "Valley", "House", "Station", "Line", "Circle", "Dream",
    "Night", "Dawn", "Voice", "Hunter", "Runner", "Stranger", "Detective", "Doctor",
    "Teacher", "Soldier", "Pilot", "Queen", "King", "Prince", "Ghost", "Angel", "Wolf",
    "Fox", "Bear", "Raven", "Tiger", "Dragon", "Comet", "Planet", "Star", "Moon", "Sun",
    "Mountain", "Desert", "Lake", "Tower", "Castle", "Hotel", "Diner", "Factory", "Trail",
    "Canyon", "Lighthouse", "Orchard", "Symphony", "Letter", "Diary", "Map", "Key", "Crown",
)
_PLURAL = (
    "Secrets", "Lies", "Ghosts", "Wolves", "Strangers", "Shadows", "Dreams", "Echoes",
    "Stars", "Waves", "Hearts", "Kings", "Rivers", "Streets", "Brothers", "Sisters",
    "Friends", "Lovers", "Hunters", "Thieves", "Angels", "Giants", "Legends", "Roads",
)
_PLACE = (
    "Brooklyn", "Paris", "Berlin", "Moscow", "Tokyo", "Rome", "Vienna", "Lisbon", "Chicago",
    "Havana", "Cairo", "Istanbul", "Oslo", "Prague", "Casablanca", "Seoul", "Mumbai",
    "Siberia", "Alaska", "Texas", "Montana", "Venice", "Marseille", "Saint Petersburg",
    "Yorkshire", "Manhattan", "Sicily", "Baikal", "Kamchatka", "Provence",
)
_FIRST = (
    "Anna", "Maria", "Elena", "Sophie", "Olivia", "Emma", "Julia", "Laura", "Claire", "Nina",
    "Kate", "Alice", "Vera", "Irina", "Chloe", "Hannah", "Grace", "Lucy", "Mia", "Sara",
    "John", "Michael", "David", "James", "Robert", "Alexei", "Ivan", "Dmitry", "Peter",
    "Thomas", "Daniel", "Mark", "Paul", "Nick", "Oliver", "Lucas", "Hugo", "Marco", "Kenji",
    "Pierre", "Sergei", "Andrew", "Sam", "Leo", "Max", "Victor", "George", "Henry",
)
_LAST = (
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Clark",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Turner",
    "Petrov", "Ivanov", "Smirnov", "Volkov", "Sokolov", "Morozov", "Orlov", "Kuznetsov",
    "Dubois", "Laurent", "Moreau", "Rossi", "Bianchi", "Garcia", "Lopez", "Martinez",
    "Schmidt", "Muller", "Weber", "Tanaka", "Sato", "Kim", "Park", "Lee", "Larsen",
    "Hansen", "Novak", "Kowalski", "Fischer", "Romano", "Silva", "Carter", "Bennett",
)
_STUDIOS = (
    "Northlight Pictures", "Blue Harbor Studios", "Red Square Films", "Silverline",
    "Meridian Entertainment", "Oakwood Films", "Polar Star Media", "Lantern House",
    "Crescent Moon Pictures", "Iron Gate Studios",
    "Fable Animation", "Atlas Documentary",  # (these two: cartoons and documentaries only)
)
# Original titles of non-English productions: (phrases or first words, second words or
# place suffixes, word for "Season"). With second words, a title is "<first> <second>";
# with place suffixes, it is a phrase, half the time followed by a place.
_FOREIGN: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "Russia": (("Tikhaya", "Tyomnaya", "Zolotaya", "Poslednyaya", "Dalnyaya", "Belaya",
                "Dikaya", "Tainaya", "Vechnaya", "Severnaya", "Chuzhaya", "Krasnaya"),
               ("gavan", "noch", "doroga", "reka", "zima", "stantsiya", "granitsa", "pamyat",
                "volna", "zvezda", "zemlya", "igra"), "Sezon"),
    "Japan": (("Shizukana", "Kurai", "Kin no", "Saigo no", "Tooi", "Shiroi", "Himitsu no", "Aoi"),
              ("minato", "yoru", "michi", "kawa", "fuyu", "hoshi", "mori", "yume", "sora"), "Shīzun"),
    "South Korea": (("Joyonghan", "Eoduun", "Majimak", "Bimilui", "Meon", "Pureun"),
                    ("hanggu", "bam", "gil", "gang", "gyeoul", "byeol", "sup", "kkum"), "Sijeun"),
    "France": (("La Nuit blanche", "Le Dernier Train", "Le Jardin secret", "Le Port silencieux",
                "Le Vent du nord", "Un cœur perdu", "La Rivière noire", "La Maison bleue",
                "L'Ombre dorée", "Le Voyage d'hiver", "Les Enfants du silence", "La Dernière Lettre"),
               ("à Paris", "à Marseille", "à Lyon", "en Provence", "à Nice"), "Saison"),
    "Germany": (("Der stille Hafen", "Der letzte Zug", "Der dunkle Wald", "Die verlorene Stadt",
                 "Das weiße Haus", "Die lange Nacht", "Der kalte Winter", "Das Geheimnis",
                 "Die Spur", "Das Versprechen"),
                ("in Berlin", "in Hamburg", "in München", "in Wien", "am See"), "Staffel"),
    "Spain": (("El puerto silencioso", "La noche oscura", "El último viaje", "El jardín secreto",
               "El río dorado", "La casa azul", "La frontera", "La sombra perdida", "El secreto",
               "Las cartas"),
              ("en Madrid", "en Sevilla", "en Barcelona", "en Valencia", "del sur"), "Temporada"),
    "Italy": (("Il porto silenzioso", "La notte bianca", "L'ultimo treno", "Il giardino segreto",
               "Il fiume nero", "La casa rossa", "La lunga estate", "La strada perduta",
               "Il segreto", "La promessa"),
              ("a Roma", "a Napoli", "a Venezia", "a Milano", "in Sicilia"), "Stagione"),
    "Sweden": (("Den tysta", "Den sista", "Den mörka", "Den långa", "Den kalla"),
               ("hamnen", "natten", "vägen", "vintern", "skogen", "sjön", "staden"), "Säsong"),
    "Denmark": (("Den stille", "Den sidste", "Den mørke", "Den lange", "Den kolde"),
                ("havn", "nat", "vej", "vinter", "skov", "sø", "by"), "Sæson"),
}
_PHRASE_LANGUAGES = {"France", "Germany", "Spain", "Italy"}

_HOOKS: dict[str, tuple[str, ...]] = {
    "drama": ("must face the truth about their family", "tries to start over after a loss",
              "fights to keep a promise made years ago"),
    "comedy": ("gets into one absurd situation after another", "accidentally swaps lives with a stranger",
               "plans the perfect wedding that goes hilariously wrong"),
    "thrillers": ("uncovers a conspiracy that reaches the very top", "receives a message that should not exist",
                  "has forty-eight hours to prevent a disaster"),
    "action": ("leads a daring rescue behind enemy lines", "takes on a ruthless crime syndicate",
               "races against time to stop a stolen weapon"),
    "crime": ("is drawn into the underworld by an old debt", "plans one last heist",
              "infiltrates a powerful gang"),
    "detective": ("investigates a string of mysterious disappearances", "reopens a case everyone wants forgotten",
                  "follows a trail of cryptic clues"),
    "horror": ("moves into a house with a terrible past", "wakes something that should have stayed asleep",
               "is hunted by an invisible presence"),
    "fantasy": ("discovers a gateway to an enchanted world", "inherits a magic that comes at a price",
                "must unite rival kingdoms against an ancient evil"),
    "sci-fi": ("receives a signal from deep space", "wakes up aboard a drifting starship",
               "travels back in time to change one decision"),
    "romance": ("falls for the one person they should avoid", "meets a stranger on a night train",
                "gets a second chance at a first love"),
    "cartoons": ("sets off on a big adventure with new friends", "learns to fly with a little help",
                 "saves the forest from a grumpy giant"),
    "family": ("spends an unforgettable summer with the grandparents", "adopts a very unusual pet",
               "helps the family save their little shop"),
    "documentary": ("explores the hidden life of the planet's oceans", "follows the people who built a legend",
                    "reveals the untold story behind a famous event"),
    "adventure": ("searches for a lost treasure", "crosses an uncharted wilderness",
                  "follows an old map to a forgotten island"),
    "history": ("lives through the turning point of an empire", "leads a forgotten expedition",
                "defends a besieged city"),
}
_HEROES = (
    "a young detective", "a retired pilot", "a single mother", "a small-town doctor",
    "two unlikely friends", "a rookie cop", "a brilliant scientist", "a runaway teenager",
    "an ambitious journalist", "a former soldier", "a shy teacher", "a famous chef",
    "an old sailor", "a team of explorers", "a disgraced lawyer", "a young widow",
)
_KID_HEROES = (
    "a clever fox", "a little girl", "a brave little robot", "a curious bear cub",
    "two brothers", "a tiny dragon", "a family of rabbits", "a young princess",
)
_SETTINGS = (
    "in a quiet coastal town", "in the heart of the city", "in a remote mountain village",
    "in post-war Europe", "in the near future", "at a snowbound station", "on a sunny island",
    "on the streets of New York", "in a small northern town", "in a grand old hotel",
)

_AGE_BANDS = ("age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_64", "age_65_inf")
_AGE_SHARE = np.array([0.17, 0.27, 0.26, 0.15, 0.09, 0.06])
_INCOME_BANDS = ("income_0_20", "income_20_40", "income_40_60", "income_60_90",
                 "income_90_150", "income_150_inf")
_INCOME_SHARE = np.array([0.06, 0.55, 0.30, 0.065, 0.02, 0.005])

# --------------------------------------------------------------------------- behaviour
_P_PREFERRED_GENRE = 0.8  # fresh picks come from the user's preferred genres this often
_P_FRANCHISE_NEXT_WATCHED = 0.85  # next part of a franchise after a well-watched part
_P_FRANCHISE_NEXT_ABANDONED = 0.25  # ... after a part watched < 50 %
_P_MARKOV = 0.5  # otherwise, one of the previous item's fixed successors
_SUCCESSOR_WEIGHTS = np.array([0.45, 0.25, 0.18, 0.12])
_LATER_PART_WEIGHT = 0.03  # later franchise parts are rarely picked out of order
_ZIPF_EXPONENT = 1.0
_ZIPF_SHARE = 0.55  # popularity = this much Zipf + the rest uniform (a long but not empty tail)
_NICHE_SHARE = 0.015
_MAX_LENGTH = 400


@dataclass
class DemoTables:
    """The three demo tables, in KION's CSV schema.

    ``interactions``: user_id, item_id (int64), last_watch_dt (datetime64[ns], dates only),
    total_dur (int64 seconds), watched_pct (float64, 0..100); rows are grouped by user, in
    watch order. ``items`` / ``users``: the columns of ``items_en.csv`` / ``users_en.csv``.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame

    def write(self, out_dir: str | pathlib.Path) -> pathlib.Path:
        """Write ``interactions.csv``, ``items_en.csv`` and ``users_en.csv`` into ``out_dir``."""
        out = pathlib.Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        inter = self.interactions
        dt = inter["last_watch_dt"]
        if pd.api.types.is_datetime64_any_dtype(dt):
            # Categorical of day strings: formatting 5M dates one by one would take seconds.
            days = dt.to_numpy().astype("datetime64[D]")
            uniq, codes = np.unique(days, return_inverse=True)
            dt = pd.Categorical.from_codes(codes, categories=np.datetime_as_string(uniq, unit="D"))
            inter = inter.assign(last_watch_dt=dt)
        inter.to_csv(out / INTERACTIONS_FILE, index=False)
        self.items.to_csv(out / ITEMS_FILE, index=True)
        self.users.to_csv(out / USERS_FILE, index=True)
        return out


def generate_demo(
    n_users: int = DEFAULT_USERS,
    n_items: int = DEFAULT_ITEMS,
    seed: int = DEFAULT_SEED,
    *,
    mean_length: float | None = None,
) -> DemoTables:
    """Generate KION-shaped interactions, items and users; the same seed gives identical frames.

    ``mean_length`` is the target mean number of interactions per user. By default it is
    10 for small demos (up to 20k users) and tapers to KION's ~5.6 at KION's size
    (960k users), so ``generate_demo(960_000, 15_700)`` gives ~5.4M interactions.
    """
    if n_users < 1:
        raise ValueError(f"n_users must be at least 1, got {n_users}")
    if n_items < 20:
        raise ValueError(f"n_items must be at least 20, got {n_items}")
    if mean_length is None:
        mean_length = _default_mean_length(n_users)
    if not mean_length >= 1.0:
        raise ValueError(f"mean_length must be at least 1, got {mean_length}")
    rng = np.random.default_rng(seed)
    cat = _make_catalogue(rng, n_items)
    users, pref, n_pref = _make_users(rng, n_users)
    interactions = _make_interactions(rng, cat, users["user_id"].to_numpy(), pref, n_pref, mean_length)
    return DemoTables(interactions=interactions, items=cat.items, users=users)


def write_demo(
    out_dir: str | pathlib.Path,
    n_users: int = DEFAULT_USERS,
    n_items: int = DEFAULT_ITEMS,
    seed: int = DEFAULT_SEED,
) -> pathlib.Path:
    """Generate the demo and write its three CSVs into ``out_dir`` (created if needed)."""
    return generate_demo(n_users, n_items, seed).write(out_dir)


# --------------------------------------------------------------------------- internals


def _default_mean_length(n_users: int) -> float:
    """10 up to 20k users, KION's ~5.65 from 960k users, log-linear in between."""
    lo, hi = math.log(20_000), math.log(960_000)
    t = min(max((math.log(max(n_users, 1)) - lo) / (hi - lo), 0.0), 1.0)
    return 10.0 + t * (5.65 - 10.0)


@dataclass
class _Catalogue:
    items: pd.DataFrame
    genre_matrix: np.ndarray  # (n_items, n_genres) bool
    primary_genre: np.ndarray  # (n_items,) int
    weight: np.ndarray  # (n_items,) fresh-pick weight (popularity)
    next_part: np.ndarray  # (n_items,) index of the next franchise part, -1 if none
    duration: np.ndarray  # (n_items,) seconds of a full watch


def _roman(k: int) -> str:
    return {2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}.get(k, str(k))


def _make_catalogue(rng: np.random.Generator, n_items: int) -> _Catalogue:
    # ---- works: a franchise (2-6 parts) or a standalone title (1 item)
    sizes: list[int] = []
    kinds: list[str] = []  # "series" / "film" per work
    total = 0
    franchise_target = int(0.2 * n_items)
    while total < franchise_target:
        if rng.random() < 0.65:
            size, kind = int(rng.choice([2, 3, 4, 5, 6], p=[0.3, 0.28, 0.2, 0.12, 0.1])), "series"
        else:
            size, kind = int(rng.choice([2, 3, 4], p=[0.55, 0.3, 0.15])), "film"
        size = min(size, n_items - total)
        sizes.append(size)
        kinds.append(kind)
        total += size
    n_franchises = len(sizes)
    n_standalone = n_items - total
    sizes += [1] * n_standalone
    kinds += list(np.where(rng.random(n_standalone) < 0.2, "series", "film"))
    n_works = len(sizes)
    sizes_a = np.array(sizes)
    is_franchise = np.zeros(n_works, dtype=bool)
    is_franchise[:n_franchises] = True

    # ---- work-level attributes
    primary = rng.choice(len(GENRES), size=n_works, p=_GENRE_SHARE / _GENRE_SHARE.sum())
    cover = rng.permutation(n_works)[: len(GENRES)]  # every genre has at least one work
    primary[cover] = np.arange(len(cover))
    n_genres = rng.choice([1, 2, 3], size=n_works, p=[0.3, 0.45, 0.25])
    country_p = _COUNTRY_SHARE / _COUNTRY_SHARE.sum()
    country1 = rng.choice(len(_COUNTRIES), size=n_works, p=country_p)
    country2 = rng.choice(len(_COUNTRIES), size=n_works, p=country_p)
    has_country2 = rng.random(n_works) < 0.15
    # popularity: Zipf over a random rank; franchises come from the upper half of the ranking
    rank = np.empty(n_works, dtype=np.int64)
    fr_ranks = np.sort(rng.choice(max(n_works // 2, n_franchises), n_franchises, replace=False))
    rest = np.setdiff1d(np.arange(n_works), fr_ranks)
    rank[:n_franchises] = rng.permutation(fr_ranks)
    rank[n_franchises:] = rng.permutation(rest)
    zipf = (rank + 1.0 + 0.01 * n_works) ** -_ZIPF_EXPONENT
    work_weight = _ZIPF_SHARE * zipf / zipf.mean() + (1.0 - _ZIPF_SHARE)
    # a few niche titles nobody looks for (they fall under the notebook's 20-views filter)
    niche = (rng.random(n_works) < _NICHE_SHARE) & ~is_franchise
    work_weight[niche] *= 0.03
    year_back = np.minimum(rng.exponential(6.0, n_works).astype(int), 60)
    # per-item random draws, used inside the loop below
    n_r = 40
    r = rng.random((n_works, n_r))
    ri = rng.integers(0, 1 << 30, size=(n_works, n_r))
    rt = rng.random((n_works, n_r))  # for titles only
    rit = rng.integers(0, 1 << 30, size=(n_works, n_r))
    people = np.stack(  # [work, person, (first name, last name)]
        [rng.integers(0, len(_FIRST), size=(n_works, 9)), rng.integers(0, len(_LAST), size=(n_works, 9))],
        axis=2,
    )

    seen: set[str] = set()
    rows: list[dict] = []
    item_primary: list[int] = []
    item_genres: list[list[int]] = []
    item_weight: list[float] = []
    item_duration: list[float] = []
    item_work: list[int] = []

    def unique_base(w: int, kind: str) -> str:
        for attempt in range(200):
            j = attempt % n_r
            a, n, p, pl = (_ADJ[rit[w, j] % len(_ADJ)], _NOUN[(rit[w, j] >> 7) % len(_NOUN)],
                           _PLACE[(rit[w, j] >> 14) % len(_PLACE)], _PLURAL[(rit[w, j] >> 21) % len(_PLURAL)])
            name = _FIRST[(rit[w, j] >> 5) % len(_FIRST)]
            n2 = _NOUN[(rit[w, j] >> 17) % len(_NOUN)]
            pattern = int(rt[w, j] * 12) if attempt < 100 else 12 + attempt % 3
            base = (
                f"The {a} {n}", f"{a} {n}", f"{n} of {p}", f"The {n} of {p}", f"{name}'s {n}",
                f"{a} {pl}", f"The Last {n}" if kind == "film" else f"{p} {pl}",
                f"{n} and {n2}" if n != n2 else f"The {n}", f"Beyond the {n}", f"{p} {n}",
                f"{n} in {p}", f"{pl} of the {n}",
                f"The {a} {n} of {p}", f"{name} and the {a} {n}", f"{a} {pl} of {p}",
            )[pattern]
            if base not in seen:
                return base
        k = 2
        while f"{base} ({k})" in seen:
            k += 1
        return f"{base} ({k})"

    def foreign(w: int, country: str, base: str) -> str:
        if country in _ENGLISH_COUNTRIES or country not in _FOREIGN or r[w, 30] < 0.15:
            return base
        firsts, seconds, _ = _FOREIGN[country]
        first, second = firsts[ri[w, 30] % len(firsts)], seconds[(ri[w, 30] >> 8) % len(seconds)]
        if country in _PHRASE_LANGUAGES and r[w, 31] < 0.5:
            return first
        return f"{first} {second}"

    for w in range(n_works):
        kind = kinds[w]
        size = int(sizes_a[w])
        g0 = GENRES[primary[w]]
        partners = _GENRE_PARTNERS[g0]
        gs = [int(primary[w])]
        for j in range(int(n_genres[w]) - 1):
            cand = _G[partners[ri[w, 20 + j] % len(partners)]]
            if cand not in gs:
                gs.append(cand)
        genres_txt = ", ".join(GENRES[g] for g in gs)
        c1 = _COUNTRIES[country1[w]]
        countries = [c1]
        if has_country2[w] and country2[w] != country1[w]:
            countries.append(_COUNTRIES[country2[w]])
        countries_txt = ", ".join(countries)
        kids = g0 in ("cartoons", "family") or (len(gs) > 1 and GENRES[gs[1]] in ("cartoons", "family"))
        if g0 == "cartoons":
            age_rating = (0, 6)[ri[w, 23] % 2]
        elif kids:
            age_rating = (0, 6, 12)[ri[w, 23] % 3]
        elif g0 == "horror":
            age_rating = (16, 18)[ri[w, 23] % 2]
        else:
            age_rating = (12, 16, 16, 18)[ri[w, 23] % 4]
        for_kids = (1 if kids else 0) if r[w, 24] < (0.8 if kids else 0.35) else pd.NA
        studio = _STUDIOS[ri[w, 25] % (len(_STUDIOS) - 2)] if r[w, 25] < 0.3 else None
        if g0 == "cartoons":
            studio = "Fable Animation" if r[w, 25] < 0.6 else studio
        elif g0 == "documentary":
            studio = "Atlas Documentary" if r[w, 25] < 0.5 else studio
        director = f"{_FIRST[people[w, 0, 0]]} {_LAST[people[w, 0, 1]]}"
        if r[w, 26] < 0.1:
            director += f", {_FIRST[people[w, 1, 0]]} {_LAST[people[w, 1, 1]]}"
        cast = [f"{_FIRST[people[w, j, 0]]} {_LAST[people[w, j, 1]]}" for j in range(2, 9)]
        n_cast = 3 + ri[w, 31] % 4
        hook = _HOOKS[g0][ri[w, 32] % len(_HOOKS[g0])]
        if g0 == "documentary":
            hero = "a team of filmmakers"
        elif kids:
            hero = _KID_HEROES[ri[w, 33] % len(_KID_HEROES)]
        else:
            hero = _HEROES[ri[w, 33] % len(_HEROES)]
        setting = _SETTINGS[ri[w, 34] % len(_SETTINGS)]
        description = f"{hero[0].upper()}{hero[1:]} {hook} {setting}."
        base = unique_base(w, kind)
        base_orig = foreign(w, c1, base)
        season_word = _FOREIGN[c1][2] if c1 in _FOREIGN else "Season"
        sequel_style = ri[w, 35] % 3
        if kind == "series":
            episode_len = 2400 + 1200 * r[w, 36]
            duration = episode_len * (6 + ri[w, 36] % 7)
        else:
            duration = 4800 + 3600 * r[w, 36] ** 1.5
        gaps = [0] + [1 if kind == "series" else 1 + int(ri[w, 37] >> (3 * k)) % 4 for k in range(size - 1)]
        first_year = max(1960, 2021 - int(year_back[w]) - sum(gaps))
        year = first_year
        for part in range(size):
            year += gaps[part]
            if size > 1 and kind == "series":
                title = f"{base}: Season {part + 1}"
                orig = title if base_orig == base else f"{base_orig}. {season_word} {part + 1}"
            elif part > 0:
                suffix = (f" {part + 1}", f": Part {part + 1}", f" {_roman(part + 1)}")[sequel_style]
                title = base + suffix
                orig = base_orig + suffix if base_orig != base else title
            else:
                title, orig = base, base_orig
            seen.add(title)
            seen.add(base)
            desc = description if part == 0 else (
                f"Season {part + 1}. The story continues: {description[0].lower()}{description[1:]}"
                if kind == "series" else f"The sequel. {description}")
            title_words = [t.removesuffix("'s").strip(":,.").lower() for t in title.split()
                           if t.lower() not in ("the", "of", "and", "a", "season", "part")
                           and not t.isdigit() and t not in ("II", "III", "IV", "V", "VI")]
            keywords = ", ".join(
                dict.fromkeys([*title_words, str(year), *countries, *(GENRES[g] for g in gs)])
            )
            actors = cast[: int(n_cast)]
            if part > 0 and r[w, 38] < 0.5:
                actors = actors[:-1] + [cast[-1]]
            rows.append(
                {
                    "content_type": kind,
                    "title": title,
                    "title_orig": orig,
                    "release_year": float(year),
                    "genres": genres_txt,
                    "countries": countries_txt,
                    "for_kids": for_kids,
                    "age_rating": age_rating,
                    "studios": studio,
                    "directors": director,
                    "actors": ", ".join(dict.fromkeys(actors)),
                    "description": desc,
                    "keywords": keywords,
                }
            )
            item_primary.append(int(primary[w]))
            item_genres.append(gs)
            item_weight.append(work_weight[w] * (1.0 if part == 0 else _LATER_PART_WEIGHT))
            item_duration.append(duration)
            item_work.append(w)

    items = pd.DataFrame(rows)
    item_ids = np.sort(rng.choice(int(n_items * 1.05) + 10, size=n_items, replace=False)).astype(np.int64)
    # the catalogue order is shuffled (KION's is not grouped by franchise)
    perm = rng.permutation(n_items)  # perm[k] = original row placed at position k
    items = items.iloc[perm].reset_index(drop=True)
    items.insert(0, "item_id", item_ids[rng.permutation(n_items)])
    items["for_kids"] = items["for_kids"].astype("Int64")
    items["age_rating"] = items["age_rating"].astype("int64")
    items["release_year"] = items["release_year"].astype("float64")
    for col in ("content_type", "title", "title_orig", "genres", "countries", "studios",
                "directors", "actors", "description", "keywords"):
        # missing stays missing (pandas 2 would turn None into the text "None")
        items[col] = items[col].astype("str").where(items[col].notna())
    inv = np.empty(n_items, dtype=np.int64)
    inv[perm] = np.arange(n_items)  # inv[original row] = new position
    genre_matrix = np.zeros((n_items, len(GENRES)), dtype=bool)
    for i, gs in enumerate(item_genres):
        genre_matrix[inv[i], gs] = True
    next_part = np.full(n_items, -1, dtype=np.int64)
    # original rows of a franchise are consecutive: row i + 1 is the next part of row i
    orig_work = np.array(item_work)
    same = orig_work[1:] == orig_work[:-1]
    next_part[inv[:-1][same]] = inv[1:][same]
    return _Catalogue(
        items=items,
        genre_matrix=genre_matrix,
        primary_genre=np.array(item_primary)[perm],
        weight=np.array(item_weight)[perm],
        next_part=next_part,
        duration=np.array(item_duration)[perm],
    )


def _make_users(rng: np.random.Generator, n_users: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    age = rng.choice(len(_AGE_BANDS), size=n_users, p=_AGE_SHARE / _AGE_SHARE.sum())
    # income rises a little with age
    inc_p = _INCOME_SHARE / _INCOME_SHARE.sum()
    income = rng.choice(len(_INCOME_BANDS), size=n_users, p=inc_p)
    bump = (rng.random(n_users) < 0.15 * (age >= 2)) & (income < len(_INCOME_BANDS) - 1)
    income = income + bump
    sex_u = rng.random(n_users)
    sex = np.where(sex_u < 0.015, 2, np.where(sex_u < 0.51, 1, 0))  # 0 M, 1 F, 2 unknown
    kids = (rng.random(n_users) < np.where((age >= 1) & (age <= 3), 0.42, 0.12)).astype(np.int64)
    user_ids = rng.choice(int(n_users * 1.14) + 10, size=n_users, replace=False).astype(np.int64)

    # preferred genres: weighted sampling without replacement (Gumbel top-k), with genre
    # tastes tilted by kids (2) x age group (young / middle / 55+) x sex (3): 18 profiles
    age_group = np.where(age == 0, 0, np.where(age >= 4, 2, 1))
    profile = (kids * 3 + age_group) * 3 + sex
    table = np.empty((18, len(GENRES)))
    tilts = {
        "kids": ({"cartoons": 0.25, "family": 0.6},
                 {"cartoons": 5.0, "family": 3.0, "adventure": 1.3, "horror": 0.6}),
        "age": ({"horror": 2.0, "sci-fi": 1.6, "action": 1.5, "fantasy": 1.5, "comedy": 1.3,
                 "documentary": 0.5, "history": 0.4},
                {},
                {"history": 2.5, "documentary": 2.0, "detective": 1.8, "drama": 1.4,
                 "horror": 0.3, "sci-fi": 0.6}),
        "sex": ({"action": 1.5, "sci-fi": 1.4, "crime": 1.2, "romance": 0.5},
                {"romance": 2.2, "drama": 1.3, "comedy": 1.2, "action": 0.6, "sci-fi": 0.7},
                {}),
    }
    for k in range(2):
        for a in range(3):
            for x in range(3):
                row = np.log(_GENRE_SHARE / _GENRE_SHARE.sum())
                for t in (tilts["kids"][k], tilts["age"][a], tilts["sex"][x]):
                    for g, mult in t.items():
                        row[_G[g]] += math.log(mult)
                table[(k * 3 + a) * 3 + x] = row
    cdf = np.cumsum(np.exp(table - table.max(axis=1, keepdims=True)), axis=1)
    cdf /= cdf[:, -1:]
    pref = np.empty((n_users, 3), dtype=np.int64)
    for slot in range(3):
        todo = np.arange(n_users)
        for _ in range(50):  # draw again where the genre was already picked for a lower slot
            draw = _draw_rows(cdf, profile[todo], rng.random(len(todo)))
            pref[todo, slot] = draw
            clash = (pref[todo, :slot] == draw[:, None]).any(axis=1)
            todo = todo[clash]
            if len(todo) == 0:
                break
        for t in todo:  # practically never: the next genre not yet picked
            pref[t, slot] = next(g for g in range(len(GENRES)) if g not in pref[t, :slot])
    n_pref = rng.choice([1, 2, 3], size=n_users, p=[0.3, 0.45, 0.25])

    sex_txt = np.array(["M", "F", None], dtype=object)[sex]
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "age": pd.Series(np.array(_AGE_BANDS, dtype=object)[age], dtype="str"),
            "income": pd.Series(np.array(_INCOME_BANDS, dtype=object)[income], dtype="str"),
            "sex": pd.Series(sex_txt, dtype="str"),
            "kids_flg": kids,
        }
    )
    return users, pref, n_pref


class _GenreSampler:
    """Draws an item of a given genre, proportionally to the items' weights (vectorised)."""

    def __init__(self, genre_matrix: np.ndarray, weight: np.ndarray) -> None:
        g_idx, i_idx = np.nonzero(genre_matrix.T)  # sorted by genre
        w = weight[i_idx]
        totals = np.bincount(g_idx, weights=w, minlength=genre_matrix.shape[1])
        cum = np.cumsum(w)
        starts = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
        self.cum = g_idx + (cum - starts[g_idx]) / totals[g_idx]  # in (g, g + 1] for genre g
        self.totals = totals
        self.items = i_idx

    def sample(self, genre: np.ndarray, u: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.cum, genre + u, side="left")
        return self.items[np.minimum(pos, len(self.items) - 1)]


def _make_interactions(
    rng: np.random.Generator,
    cat: _Catalogue,
    user_ids: np.ndarray,
    pref: np.ndarray,
    n_pref: np.ndarray,
    mean_length: float,
) -> pd.DataFrame:
    n_users = len(user_ids)
    n_items = len(cat.weight)
    n_genres = cat.genre_matrix.shape[1]
    # items of several genres share their weight between their genres
    sampler = _GenreSampler(cat.genre_matrix, cat.weight / cat.genre_matrix.sum(axis=1))
    slot_p = np.array([[1.0, 0.0, 0.0], [0.6 / 0.85, 0.25 / 0.85, 0.0], [0.6, 0.25, 0.15]])[n_pref - 1]
    demand = np.bincount(pref.ravel(), weights=slot_p.ravel(), minlength=n_genres) / n_users
    supply = sampler.totals / sampler.totals.sum()
    # the "any genre" picks make up for genres that fans alone would under-watch
    other = np.maximum(supply - _P_PREFERRED_GENRE * demand, 0.0) + 1e-3 * supply
    genre_cum = np.cumsum(other / other.sum())

    # fixed successors ("people who watched X next watch Y") from X's primary genre
    k_succ = len(_SUCCESSOR_WEIGHTS)
    succ = sampler.sample(np.repeat(cat.primary_genre, k_succ), rng.random(n_items * k_succ)).reshape(n_items, k_succ)
    self_loop = succ == np.arange(n_items)[:, None]
    succ[self_loop] = rng.integers(0, n_items, size=int(self_loop.sum()))
    succ_cum = np.cumsum(_SUCCESSOR_WEIGHTS / _SUCCESSOR_WEIGHTS.sum())

    # sequence lengths: 1 + floor(lognormal), skewed (repeated (user, item) pairs dropped
    # below make the realised mean a little lower, by ~0.5 % at KION size, ~6 % for the demo)
    sigma = 1.1
    max_len = int(min(_MAX_LENGTH, max(2, n_items // 3)))
    mu = _lognormal_mu(mean_length, sigma, max_len)
    lengths = np.minimum(1 + np.floor(np.exp(rng.normal(mu, sigma, n_users))), max_len).astype(np.int64)
    order = np.argsort(-lengths, kind="stable")  # generation row j is user order[j]
    len_sorted = lengths[order]
    pref_s = pref[order]
    slot_cum = np.cumsum(slot_p[order], axis=1)[:, :2]

    total = int(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    dest_base = offsets[order]  # output row of (generation row j, position 0)
    out_item = np.empty(total, dtype=np.int64)
    out_pct = np.empty(total, dtype=np.float64)
    # number of users still active at each position (lengths are sorted descending)
    active_at = np.searchsorted(-len_sorted, -np.arange(1, max_len + 1), side="right")

    def fresh(rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Fresh picks for generation rows ``rows``: a preferred genre (or any genre),
        then an item of that genre by popularity."""
        slot = (u[0] > slot_cum[rows, 0]).astype(np.int64) + (u[0] > slot_cum[rows, 1])
        own = pref_s[rows, slot]
        anyg = np.minimum(np.searchsorted(genre_cum, u[1]), n_genres - 1)
        return sampler.sample(np.where(u[2] < _P_PREFERRED_GENRE, own, anyg), u[3])

    prev = prev2 = prev_pct = None
    for pos in range(max_len):
        m = int(active_at[pos])
        if m == 0:
            break
        u = rng.random((7, m))
        if pos == 0:
            item = fresh(np.arange(m), u[:4])
        else:
            p = prev[:m]
            # the next part of a franchise (likelier after a well-watched part) ...
            nxt = cat.next_part[p]
            p_next = np.where(prev_pct[:m] >= 50, _P_FRANCHISE_NEXT_WATCHED, _P_FRANCHISE_NEXT_ABANDONED)
            cont = (nxt >= 0) & (u[6] < p_next)
            # ... else often a fixed successor of the previous item ...
            markov = succ[p, np.minimum(np.searchsorted(succ_cum, u[4]), k_succ - 1)]
            item = np.where(cont, nxt, markov)
            # ... else a fresh pick; also instead of an immediate repeat (later repeats are dropped below)
            redo = ~cont & (u[5] >= _P_MARKOV)
            redo |= (item == p) | ((item == prev2[:m]) if pos > 1 else False)
            rows = np.flatnonzero(redo)
            item[rows] = fresh(rows, u[:4, rows])
        pct = _watched_pct(rng, m)
        dest = dest_base[:m] + pos
        out_item[dest] = item
        out_pct[dest] = pct
        prev2, prev, prev_pct = prev, item, pct

    user_idx = np.repeat(np.arange(n_users), lengths)
    # each (user, item) pair once, its first watch kept (KION has one row per pair)
    key = user_idx.astype(np.int64) * n_items + out_item
    by_key = np.argsort(key, kind="stable")  # rows are grouped by user already: fast
    sorted_key = key[by_key]
    keep = np.ones(len(key), dtype=bool)
    keep[by_key[1:][sorted_key[1:] == sorted_key[:-1]]] = False
    del by_key, sorted_key
    user_idx, out_item, out_pct = user_idx[keep], out_item[keep], out_pct[keep]
    n = len(user_idx)

    # dates: each user is active over a span that grows with their number of views
    counts = np.bincount(user_idx, minlength=n_users)
    n_days = int((LAST_DAY - FIRST_DAY).astype(int)) + 1
    per_view = rng.lognormal(math.log(2.0), 0.9, n_users)
    span = np.minimum(np.round(counts * per_view), n_days - 1)
    start = np.floor(rng.random(n_users) * (n_days - span))
    gaps = rng.exponential(1.0, n)
    cum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    before = np.concatenate([[0.0], cum])[first]  # cumulative gap before each user's first row
    user_total = np.bincount(user_idx, weights=gaps, minlength=n_users) + rng.exponential(1.0, n_users)
    frac = (cum - before[user_idx]) / user_total[user_idx]
    day = (start[user_idx] + np.floor(frac * span[user_idx] + 1e-9)).astype(np.int64)
    day = np.minimum(day, n_days - 1)
    dates = (FIRST_DAY + day).astype("datetime64[ns]")

    dur = cat.duration[out_item] * out_pct / 100.0 * rng.lognormal(0.0, 0.12, n)
    total_dur = np.maximum(np.round(dur), 1).astype(np.int64)
    return pd.DataFrame(
        {
            "user_id": user_ids[user_idx],
            "item_id": cat.items["item_id"].to_numpy()[out_item],
            "last_watch_dt": dates,
            "total_dur": total_dur,
            "watched_pct": out_pct,
        }
    )


def _draw_rows(cdf: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each k, the index drawn from the distribution whose CDF is ``cdf[row[k]]``."""
    n_cols = cdf.shape[1]
    flat = (cdf + np.arange(len(cdf))[:, None]).ravel()  # row r's CDF lies in (r, r + 1]
    pos = np.searchsorted(flat, row + u, side="left")
    return np.minimum(pos - row * n_cols, n_cols - 1)


def _lognormal_mu(mean: float, sigma: float, max_len: int) -> float:
    """The mu for which min(1 + floor(exp(N(mu, sigma))), max_len) has the given mean."""
    target = min(max(mean, 1.0), max_len)
    logs = np.log(np.arange(1, max_len))

    def expected(mu: float) -> float:  # 1 + sum_j P(exp(N) >= j), j = 1 .. max_len - 1
        z = (logs - mu) / (sigma * math.sqrt(2.0))
        return 1.0 + float(sum(0.5 * math.erfc(v) for v in z))

    lo, hi = -10.0, math.log(max_len) + 5 * sigma
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected(mid) < target else (lo, mid)
    return (lo + hi) / 2


def _watched_pct(rng: np.random.Generator, m: int) -> np.ndarray:
    """Mostly high (a spike at 100), some partial, ~10 % abandoned under 10 %; integer-valued."""
    u = rng.random(m)
    v = rng.random(m)
    pct = np.where(
        u < 0.10,
        10.0 * v,
        np.where(u < 0.30, 10.0 + 65.0 * v, np.where(u < 0.50, 100.0, 100.0 - 35.0 * v**2.5)),
    )
    return np.round(pct)
