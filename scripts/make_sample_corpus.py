"""Write the project's sample corpus: news-style English in CoNLL-2003 columns.

The sentences come from templates written for this project, filled from name
pools with a fixed seed, so the output is the same on every machine. The test
split draws half of its names from pools that train never sees, so a model has
to generalise from context and shape, not memorise names. Output: IOB1 tags
(like CoNLL-2003), `-DOCSTART- -X- -X- O` document lines, columns
`token POS chunk NER`.
"""
import random
from pathlib import Path
from typing import Dict, List, Tuple

import typer
from wasabi import msg

# fmt: off
FIRST = ["Peter", "Maria", "John", "Anna", "David", "Laura", "Michael", "Sarah", "Thomas", "Elena",
         "James", "Sofia", "Robert", "Ingrid", "Carlos", "Yuki", "Ahmed", "Olga", "Pierre", "Hannah"]
LAST = ["Blackburn", "Schmidt", "Walker", "Rossi", "Kowalski", "Tanaka", "Moreau", "Lindqvist",
        "Okafor", "Petrov", "Garcia", "Brennan", "Novak", "Haddad", "Fischer", "Castillo"]
FIRST_NEW = ["Gustav", "Amara", "Dmitri", "Leila", "Kenji", "Beatriz", "Tomasz", "Fiona"]
LAST_NEW = ["Vasquez", "Oyelaran", "Halvorsen", "Marchetti", "Nakamura", "Dubois"]
LOC = ["Brussels", "Germany", "Paris", "London", "Moscow", "Tokyo", "New York", "Brazil", "Cairo",
       "Madrid", "South Africa", "Canada", "Beijing", "Sydney", "Mexico City", "Sweden", "Kenya",
       "Rome", "Washington", "Buenos Aires", "India", "Istanbul", "Poland", "Chicago"]
LOC_NEW = ["Lisbon", "Vietnam", "Oslo", "Nairobi", "Peru", "Hamburg", "Santiago", "Malaysia"]
ORG = ["European Commission", "Reuters", "United Nations", "Siemens", "Bank of England",
       "Real Madrid", "Toyota", "World Bank", "NATO", "General Motors", "Bayern Munich",
       "Federal Reserve", "Microsoft", "Red Cross", "Ajax", "Deutsche Bank", "IBM",
       "Labour Party", "Interpol", "Volvo", "Manchester United", "Unilever"]
ORG_NEW = ["Nestle", "Juventus", "Airbus", "Greenpeace", "Barclays", "Petrobras", "UNESCO"]
MISC = ["German", "British", "French", "Russian", "Japanese", "Olympic Games", "World Cup",
        "Nobel Prize", "Brazilian", "Canadian", "Chinese", "Euro 96", "Swedish", "Christian",
        "Davis Cup", "Indian", "Tour de France", "Mexican"]
MISC_NEW = ["Polish", "Kenyan", "Grammy Awards", "Italian", "Ryder Cup", "Australian"]
NAT = ["Syrian", "Israeli", "Turkish", "Greek", "Irish", "Dutch"]  # adjacent MISC: IOB1 B-
DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

TEMPLATES = [
    "{PER} said on {DAY} that {ORG} would cut 300 jobs in {LOC} .",
    "{ORG} shares rose 2.5 percent in {LOC} after {PER} was named chief executive .",
    "The {MISC} government rejected a call by {ORG} to boycott {MISC} lamb .",
    "{PER} , a spokesman for {ORG} , told reporters in {LOC} the talks had failed .",
    "Police in {LOC} arrested two men on {DAY} , {ORG} reported .",
    "{PER} scored twice as {ORG} beat {ORG} 3-1 in {LOC} .",
    "{LOC} and {LOC} signed a trade agreement in {LOC} on {DAY} .",
    "{PER} won the {MISC} title after beating {PER} in straight sets .",
    "{ORG} said profits fell sharply in the third quarter .",
    "The {MISC} prime minister , {PER} , arrived in {LOC} for a two-day visit .",
    "Officials at {ORG} declined to comment on the report .",
    "{PER} will lead the {MISC} team at the {MISC} in {LOC} .",
    "Heavy rain flooded parts of {LOC} , killing at least 12 people .",
    "{ORG} agreed to buy a stake in {ORG} for 1.2 billion dollars .",
    "{PER} told {ORG} that inflation in {LOC} was under control .",
    "The match between {ORG} and {ORG} was postponed because of snow .",
    "Analysts in {LOC} expect {ORG} to raise interest rates next month .",
    "{PER} , who joined {ORG} in 1994 , will retire at the end of the year .",
    "{MISC} and {MISC} troops held joint exercises near {LOC} .",
    "The {MISC} film festival opened in {LOC} on {DAY} with a new work by {PER} .",
    "Fighting broke out again in northern {LOC} , witnesses said .",
    "{PER} was elected president of {ORG} with 62 percent of the vote .",
    "Exports from {LOC} to {LOC} rose 8 percent last year , {ORG} said .",
    "{PER} and {PER} met in {LOC} to discuss the peace plan .",
    "Shares in {ORG} closed 40 pence lower in {LOC} .",
    "{PER} finished third behind {PER} of {LOC} .",
    "A {MISC} court sentenced {PER} to five years in prison on {DAY} .",
    "{ORG} opened a new factory outside {LOC} employing 800 workers .",
    "The {NAT} {NAT} talks resumed in {LOC} on {DAY} .",
    "Thousands of people marched through {LOC} to protest against the plan .",
    "{PER} ( {LOC} ) beat {PER} ( {LOC} ) 6-4 6-2 .",
    "{ORG} chairman {PER} said the merger would be completed by June .",
    "The {MISC} currency fell against the dollar on {DAY} .",
    "Rescue workers from {ORG} reached the village near {LOC} late on {DAY} .",
    "{PER} denied the allegations in an interview with {ORG} .",
    "Prices on the {LOC} stock exchange were mixed in early trade .",
]
# fmt: on

POS = {".": ".", ",": ",", "(": "(", ")": ")", "the": "DT", "The": "DT", "a": "DT", "A": "DT",
       "in": "IN", "on": "IN", "of": "IN", "at": "IN", "for": "IN", "by": "IN", "to": "TO",
       "and": "CC", "said": "VBD", "was": "VBD", "will": "MD", "would": "MD"}


def pools(held_out: bool) -> Dict[str, List[str]]:
    """Name pools. For the held-out split about half of each type's draws are
    names that the train split never uses."""
    seen = {"PER": [f"{f} {l}" for f in FIRST for l in LAST], "LOC": LOC, "ORG": ORG, "MISC": MISC}
    unseen = {"PER": [f"{f} {l}" for f in FIRST_NEW for l in LAST_NEW], "LOC": LOC_NEW,
              "ORG": ORG_NEW, "MISC": MISC_NEW}
    pool = {"DAY": DAY, "NAT": NAT}
    for label, names in seen.items():
        pool[label] = names + unseen[label] * (len(names) // len(unseen[label])) if held_out else names
    return pool


def fill(template: str, pool: Dict[str, List[str]], rng: random.Random) -> List[Tuple[str, str, str]]:
    """One sentence as (token, POS, IOB1 tag) rows."""
    rows: List[Tuple[str, str, str]] = []
    prev_label = "O"
    for piece in template.split():
        slot = piece[1:-1] if piece.startswith("{") and piece.endswith("}") else None
        if slot is None or slot == "DAY":
            word = rng.choice(pool["DAY"]) if slot else piece
            rows.append((word, "NNP" if slot else POS.get(word, "NN"), "O"))
            prev_label = "O"
            continue
        words = rng.choice(pool[slot]).split()
        label = "MISC" if slot == "NAT" else slot
        # IOB1: I- starts an entity; B- only where one directly follows another of its type
        first_prefix = "B" if prev_label == label else "I"
        tag_pos = "JJ" if label == "MISC" and len(words) == 1 else "NNP"
        for i, word in enumerate(words):
            rows.append((word, tag_pos, f"{first_prefix if i == 0 else 'I'}-{label}"))
        prev_label = label
    return rows


def write_split(path: Path, n_docs: int, held_out: bool, rng: random.Random) -> Tuple[int, int]:
    pool = pools(held_out)
    lines: List[str] = []
    n_sents = 0
    for _ in range(n_docs):
        lines += ["-DOCSTART- -X- -X- O", ""]
        for _ in range(rng.randint(6, 14)):
            for word, pos, tag in fill(rng.choice(TEMPLATES), pool, rng):
                lines.append(f"{word} {pos} O {tag}")
            lines.append("")
            n_sents += 1
    path.write_text("\n".join(lines), encoding="utf8")
    return n_docs, n_sents


# fmt: off
def main(
    output_dir: Path = typer.Argument(Path("corpus/sample"), help="Folder for train.conll, dev.conll, test.conll"),
    n_train: int = typer.Option(60, help="Documents in the train split"),
    n_eval: int = typer.Option(15, help="Documents in each of dev and test"),
    seed: int = typer.Option(0, help="Random seed"),
):
    # fmt: on
    """Write the sample corpus (deterministic for a given seed)."""
    rng = random.Random(seed)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, n_docs, held_out in (("train", n_train, False), ("dev", n_eval, False), ("test", n_eval, True)):
        docs, sents = write_split(output_dir / f"{split}.conll", n_docs, held_out, rng)
        msg.good(f"{split}: {docs} documents, {sents} sentences", output_dir / f"{split}.conll")


if __name__ == "__main__":
    typer.run(main)
