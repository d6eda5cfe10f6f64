"""General English word lists the engine needs. Language knowledge only: nothing about any topic.

Topic vocabulary (programme names, organisations, ambiguous words) lives in configuration.
"""

from __future__ import annotations

STOPWORDS = frozenset("""
a about above across after again against all almost along already also although always am among an
and another any anyone anything are around as at away back be became because become been before
being below between both but by can cannot could did do does doing done down during each either else
even ever every few for from further had has have having he her here hers herself him himself his
how however i if in into is it its itself just least less let like made make many may me might more
most much must my myself near neither no nor not now of off often on once one only onto or other
others our ours ourselves out over own per perhaps put quite rather said same say says she should
since so some such than that the their theirs them themselves then there these they this those
though through thus to too toward towards under until up upon us very via was we were what whatever
when where whether which while who whom whose why will with within without would yet you your yours
yourself also said told according added noted mr mrs ms dr new first last year years month months
week weeks day days time times way ways part
""".split())

ABBREVIATIONS = frozenset("""
mr mrs ms dr prof gen lt col maj capt sgt sen rep gov st mt ft jr sr inc ltd co corp bros no vs etc
jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e approx est dept univ fig al
""".split())

# Capitalised at a sentence start but not names.
SENTENCE_STARTERS = frozenset("""
the a an in on at for from by with after before during while when where as if but and or so yet this
that these those it its he she they we i our their his her there here then some many most several
few all both each every one two three four five six seven eight nine ten no not never also however
meanwhile still now today yesterday tomorrow earlier later last next under over about according
asked speaking since until unlike like despite although though because once what which who whom
whose how why other another such more less only even just other officials analysts experts critics
sources
""".split())

# Proper nouns that are never news by themselves.
COMMON_PROPER = frozenset("""
earth moon sun solar system universe god internet web covid covid-19 coronavirus pandemic monday
tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december utc gmt est edt pst bst cet msk ad bc mr mrs ms dr prof
president minister premier chairman director chief deputy vice governor ambassador pm ceo cfo cto coo
phd mou mous gdp
""".split())

MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
WEEKDAYS = {d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "dozen": 12, "a dozen": 12, "half a dozen": 6,
}
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
SCALES = {"thousand": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9,
          "trillion": 1e12, "k": 1e3}
CURRENCIES = {"$": "usd", "us$": "usd", "usd": "usd", "dollars": "usd", "dollar": "usd", "€": "eur",
              "eur": "eur", "euros": "eur", "euro": "eur", "£": "gbp", "gbp": "gbp", "pounds": "gbp",
              "yuan": "cny", "rmb": "cny", "cny": "cny", "rubles": "rub", "roubles": "rub", "rub": "rub",
              "yen": "jpy", "jpy": "jpy", "rupees": "inr", "crore": "inr"}
# unit -> (family, factor to the family's base unit)
UNITS = {
    "g": ("mass", 1e-3), "gram": ("mass", 1e-3), "grams": ("mass", 1e-3), "kg": ("mass", 1.0),
    "kilogram": ("mass", 1.0), "kilograms": ("mass", 1.0), "tonne": ("mass", 1e3), "tonnes": ("mass", 1e3),
    "ton": ("mass", 1e3), "tons": ("mass", 1e3), "t": ("mass", 1e3),
    "km": ("length", 1e3), "kilometres": ("length", 1e3), "kilometers": ("length", 1e3),
    "m": ("length", 1.0), "metres": ("length", 1.0), "meters": ("length", 1.0), "meter": ("length", 1.0),
    "metre": ("length", 1.0), "miles": ("length", 1609.0), "mile": ("length", 1609.0),
    "feet": ("length", 0.3048), "foot": ("length", 0.3048), "ft": ("length", 0.3048),
    "percent": ("percent", 1.0), "%": ("percent", 1.0), "per cent": ("percent", 1.0),
    "kw": ("power", 1e3), "kilowatts": ("power", 1e3), "mw": ("power", 1e6), "megawatts": ("power", 1e6),
    "w": ("power", 1.0), "watts": ("power", 1.0),
    "days": ("duration", 1.0), "day": ("duration", 1.0), "weeks": ("duration", 7.0),
    "hours": ("duration", 1 / 24), "minutes": ("duration", 1 / 1440),
}

DEMONYMS = {
    "russian": "russia", "chinese": "china", "american": "united states", "u.s.": "united states",
    "us": "united states", "u.s": "united states", "usa": "united states", "european": "europe",
    "japanese": "japan", "indian": "india", "french": "france", "german": "germany", "italian": "italy",
    "british": "united kingdom", "uk": "united kingdom", "canadian": "canada", "emirati": "united arab emirates",
    "uae": "united arab emirates", "south african": "south africa", "pakistani": "pakistan",
    "egyptian": "egypt", "thai": "thailand", "swiss": "switzerland", "swedish": "sweden",
    "spanish": "spain", "brazilian": "brazil", "mexican": "mexico", "belarusian": "belarus",
    "venezuelan": "venezuela", "turkish": "turkey", "iranian": "iran", "israeli": "israel",
    "korean": "korea", "australian": "australia", "saudi": "saudi arabia", "azerbaijani": "azerbaijan",
    "kazakh": "kazakhstan", "serbian": "serbia", "senegalese": "senegal", "nicaraguan": "nicaragua",
    "norwegian": "norway", "romanian": "romania", "malaysian": "malaysia", "bahraini": "bahrain",
    "polish": "poland", "dutch": "netherlands", "belgian": "belgium", "luxembourgish": "luxembourg",
    "soviet": "soviet union",
}

NEGATIONS = frozenset({"not", "no", "never", "n't", "neither", "nor", "cannot", "none", "nobody", "nothing"})
NOT_NEGATION = ("no earlier than", "no later than", "not only", "no sooner", "not least", "no doubt",
                "no longer than", "not yet clear", "none other")

PLANNED = ("will", "shall", "plans to", "plan to", "planned", "planning to", "is to", "are to", "to be",
           "scheduled", "expected to", "expects to", "aims to", "aim to", "intends to", "intend to",
           "set to", "due to", "is going to", "are going to", "proposed", "envisaged", "would", "targeting",
           "targeted", "targets")
POSSIBLE = ("may", "might", "could", "considering", "consider", "weigh", "weighs", "weighing", "possibly",
            "possible", "potentially", "likely", "probably", "mulls", "mulling", "perhaps", "if ")
REPORTED = ("reportedly", "according to", "reports say", "was reported", "were reported", "sources said",
            "people familiar", "it is understood")

# Event classes: stems that name what happened. Antonym pairs mark conflicting outcomes.
EVENT_CLASSES = {
    "join": ("join", "rejoin", "accede", "sign up", "signs up", "signed up", "become a partner",
             "became a partner", "becomes a partner", "became a member", "become a member"),
    "remain": ("remain", "remains", "remained", "stay", "stays", "stayed", "still a partner", "continue",
               "continues", "continued"),
    "leave": ("leave", "leaves", "left", "quit", "quits", "withdraw", "withdrew", "withdrawn", "pull out",
              "pulled out", "pulls out", "exit", "exited", "abandon", "abandoned", "drop out", "dropped out",
              "walk away", "walked away"),
    "decline": ("decline", "declined", "declines", "refuse", "refused", "reject", "rejected", "turn down",
                "turned down", "impractical", "unreasonable"),
    "sign": ("sign", "signed", "signs", "signing", "ink", "inked", "conclude", "concluded", "ratify",
             "ratified", "agreement", "memorandum"),
    "cancel": ("cancel", "cancelled", "canceled", "cancels", "scrap", "scrapped", "terminate", "terminated",
               "axe", "axed", "shelve", "shelved", "kill", "killed", "end the", "ended"),
    "delay": ("delay", "delayed", "postpone", "postponed", "slip", "slipped", "push back", "pushed back",
              "defer", "deferred"),
    "launch": ("launch", "launched", "launches", "lift off", "lifted off", "blast off", "blasted off",
               "liftoff", "fly", "flew"),
    "land": ("land", "landed", "lands", "touch down", "touched down", "touchdown", "splash down"),
    "host": ("host", "hosted", "hosts", "held", "hold", "holds", "take place", "took place", "convene",
             "convened", "open", "opened", "conference", "forum", "summit"),
    "select": ("select", "selected", "choose", "chose", "chosen", "pick", "picked", "award", "awarded",
               "contract", "contracted", "hire", "hired"),
    "build": ("build", "built", "develop", "developed", "construct", "constructed", "manufacture"),
    "deliver": ("deliver", "delivered", "ship", "shipped", "arrive", "arrived"),
    "approve": ("approve", "approved", "back", "backed", "endorse", "endorsed", "clear", "cleared",
                "authorize", "authorized", "authorise", "authorised"),
    "fail": ("fail", "failed", "crash", "crashed", "lost", "explode", "exploded", "anomaly"),
    "accept": ("agree to", "agreed to", "agrees to", "has agreed", "accept", "accepted", "accepts", "commit to",
               "committed to", "commits to", "will provide", "will supply"),
    "remote": ("videoconference", "video conference", "video link", "by video", "virtually", "virtual",
               "online", "remotely", "digitally"),
    "inperson": ("in person", "in-person", "face-to-face", "face to face"),
}
# Outcomes of an actor: they conflict only when both claims are about the same actor.
ACTOR_EVENTS = frozenset({"join", "remain", "leave", "decline", "accept"})
CONFLICTING_EVENTS = {
    frozenset({"join", "leave"}), frozenset({"remain", "leave"}), frozenset({"join", "decline"}),
    frozenset({"remain", "decline"}), frozenset({"sign", "cancel"}), frozenset({"launch", "cancel"}),
    frozenset({"approve", "cancel"}), frozenset({"build", "cancel"}), frozenset({"land", "fail"}),
    frozenset({"accept", "decline"}), frozenset({"accept", "leave"}), frozenset({"remote", "inperson"}),
    frozenset({"approve", "decline"}),
}
# Modifiers that cannot both describe one thing ('north pole' vs 'south pole').
ANTONYM_MODIFIERS = (
    frozenset({"north", "south"}), frozenset({"east", "west"}),
    frozenset({"near", "far"}), frozenset({"crewed", "uncrewed"}), frozenset({"crewed", "robotic"}),
    frozenset({"manned", "unmanned"}), frozenset({"first", "last"}), frozenset({"upper", "lower"}),
    frozenset({"temporary", "permanent"}), frozenset({"civilian", "military"}),
)
