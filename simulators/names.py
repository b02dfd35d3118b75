"""Built-in name lists for synthetic people, streets and organisations (all invented use)."""

from __future__ import annotations

# fmt: off
GIVEN_NAMES = (
    "Jan", "Pieter", "Kees", "Willem", "Hendrik", "Johannes", "Cornelis", "Gerrit", "Dirk",
    "Thomas", "Daan", "Sem", "Lucas", "Milan", "Levi", "Bram", "Ruben", "Stijn", "Jesse",
    "Tim", "Mohamed", "Ahmed", "Youssef", "Mehmet", "Kevin", "Dennis", "Mark", "Patrick",
    "Sander", "Jeroen", "Bas", "Niels", "Rick", "Joost", "Anton", "Marco", "Maria", "Anna",
    "Johanna", "Cornelia", "Elisabeth", "Emma", "Sophie", "Julia", "Lisa", "Sanne", "Anouk",
    "Fleur", "Lotte", "Eva", "Iris", "Noor", "Fatima", "Samira", "Esra", "Linda", "Monique",
    "Sandra", "Petra", "Ingrid", "Marieke", "Mirjam", "Chantal", "Naomi", "Kim", "Priya",
)

# Full surnames as written in Dutch registers, tussenvoegsel included ("van der Meer").
SURNAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
    "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
    "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
    "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
    "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "van der Heijden",
    "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven", "Hoekstra", "Maas",
    "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman", "Kuipers",
    "van Veen", "Post", "Veenstra", "Kramer", "van den Brink", "Scholten", "van Wijk",
    "ter Horst", "in 't Veld", "Yilmaz", "El Amrani", "Kaya", "Bouzid", "Ramdin",
)

STREETS = (
    "Kerkstraat", "Schoolstraat", "Molenweg", "Dorpsstraat", "Stationsweg", "Julianastraat",
    "Wilhelminastraat", "Beatrixlaan", "Nieuwstraat", "Hoofdstraat", "Marktplein",
    "Parallelweg", "Industrieweg", "Eikenlaan", "Lindelaan", "Kastanjelaan", "Berkenlaan",
    "Sportlaan", "Oranjestraat", "Prins Bernhardlaan", "Emmastraat", "Burgemeester de Withstraat",
    "Vondelstraat", "Rembrandtlaan", "Havenstraat", "Dijkweg", "Zandweg", "Tulpstraat",
    "Rozenstraat", "Merelstraat",
)
# fmt: on

# Postcode letter pairs that are never issued (SA, SD, SS) are left out.
POSTCODE_LETTERS = tuple(
    a + b
    for a in "ABCEGHJKLMNPRTVWXZ"
    for b in "ABCEGHJKLMNPRTVWXZ"
    if a + b not in {"SA", "SD", "SS"}
)

# Synthetic care providers per care category: (AGB code, display name).
CARE_PROVIDERS = {
    "addiction": (
        ("06290101", "Stichting Brughuis Verslavingszorg"),
        ("06290102", "Verslavingskliniek De Overkant"),
    ),
    "mental_health": (
        ("22290201", "GGZ De Kustlijn"),
        ("22290202", "GGZ Middenland"),
        ("22290203", "Praktijk Het Rustpunt"),
    ),
    "intellectual_disability": (
        ("06290301", "Zorggroep De Linde (VG)"),
        ("06290302", "Stichting Samen Wonen"),
    ),
    "forensic": (
        ("06290401", "Forensisch Centrum Het Anker"),
        ("06290402", "FPK De Wachttoren"),
    ),
}

PROBATION_DOMAINS = {"RN": "rn.example", "SVG": "svg.example", "LJR": "ljr.example"}
