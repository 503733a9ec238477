"""The demo catalogue: thirty invented events in real cities, as plain data.

Venues and acts are made up; streets, postcodes and time zones are real so that maps,
local times and currencies look right. Dates are offsets from the day the demo is loaded.
``sold`` is how many tickets of a type the demo attendees hold; ``buyer_holds`` of those
belong to the demo buyer.
"""

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class City:
    name: str
    timezone: str
    currency: str


LONDON = City("London", "Europe/London", "GBP")
MANCHESTER = City("Manchester", "Europe/London", "GBP")
BRISTOL = City("Bristol", "Europe/London", "GBP")
EDINBURGH = City("Edinburgh", "Europe/London", "GBP")
GLASGOW = City("Glasgow", "Europe/London", "GBP")
LEEDS = City("Leeds", "Europe/London", "GBP")
BRIGHTON = City("Brighton", "Europe/London", "GBP")
OXFORD = City("Oxford", "Europe/London", "GBP")
CARDIFF = City("Cardiff", "Europe/London", "GBP")
BATH = City("Bath", "Europe/London", "GBP")
HOPE_VALLEY = City("Hope Valley", "Europe/London", "GBP")
DUBLIN = City("Dublin", "Europe/Dublin", "EUR")
PARIS = City("Paris", "Europe/Paris", "EUR")
BERLIN = City("Berlin", "Europe/Berlin", "EUR")
AMSTERDAM = City("Amsterdam", "Europe/Amsterdam", "EUR")
BARCELONA = City("Barcelona", "Europe/Madrid", "EUR")
NEW_YORK = City("New York", "America/New_York", "USD")


@dataclass(frozen=True)
class DemoTicketType:
    name: str
    price_minor: int
    capacity: int
    # "open": on sale now until the event; "early_bird": on sale now, ends weeks before the
    # event; "later": goes on sale in ten days.
    sale: str = "open"
    sold: int = 0
    buyer_holds: int = 0
    queued: int = 0  # attendees waiting in its queue once it is sold out


@dataclass(frozen=True)
class DemoEvent:
    name: str
    category: str
    organiser: int  # 1 or 2: which demo organiser runs it
    city: City
    venue_name: str
    address: str
    days_ahead: int
    starts: time
    hours: float
    description: str
    ticket_types: tuple[DemoTicketType, ...]
    draft: bool = False


T = DemoTicketType

DEMO_CATALOGUE: tuple[DemoEvent, ...] = (
    DemoEvent(
        name="The Velvet Static: Midnight Radio Tour",
        category="concert",
        organiser=1,
        city=LONDON,
        venue_name="The Forge Ballroom",
        address="12 Camden High Street, London NW1 0JH",
        days_ahead=9,
        starts=time(19, 30),
        hours=3.5,
        description=(
            "The Velvet Static bring their fuzzed-out dream pop back to Camden for one night.\n"
            "Support from Harbour Lights. Doors at 19:30, headliner on stage at 21:00.\n"
            "Over-14s only; under-16s must be with an adult."
        ),
        ticket_types=(
            T("Standing", 2850, 400, sold=24, buyer_holds=2),
            T("Balcony (seated)", 3500, 120, sold=10),
            T("VIP meet & greet", 9500, 20, sold=4),
        ),
    ),
    DemoEvent(
        name="Northern Lights Orchestra: Sibelius & Grieg",
        category="concert",
        organiser=1,
        city=MANCHESTER,
        venue_name="St Ann's Concert Rooms",
        address="4 St Ann's Square, Manchester M2 7HW",
        days_ahead=23,
        starts=time(19, 30),
        hours=2.5,
        description=(
            "Sibelius's Violin Concerto and Grieg's Peer Gynt suites, with soloist Mira Kallio.\n"
            "Pre-concert talk in the foyer at 18:45, free to ticket holders.\n"
            "Step-free access to the stalls; hearing loop throughout."
        ),
        ticket_types=(
            T("Early bird", 1800, 80, sale="early_bird", sold=18),
            T("Stalls", 3200, 300, sold=26),
            T("Circle", 2400, 200, sold=8),
        ),
    ),
    DemoEvent(
        name="Laugh Lines: New Stand-up Night",
        category="comedy",
        organiser=1,
        city=BRISTOL,
        venue_name="The Old Granary Comedy Club",
        address="32 Welsh Back, Bristol BS1 4SP",
        days_ahead=5,
        starts=time(20, 0),
        hours=2,
        description=(
            "Six of the South West's sharpest new comics, ten minutes each, hosted by Dee Okafor.\n"
            "Cabaret seating, bar open from 19:00.\n"
            "Contains strong language; 18+."
        ),
        ticket_types=(
            T("General admission", 1200, 50, sold=48, buyer_holds=2),
            T("Front-row table", 2200, 8, sold=2),
        ),
    ),
    DemoEvent(
        name="Improv Jam: Totally Unscripted",
        category="comedy",
        organiser=1,
        city=GLASGOW,
        venue_name="The Wee Back Room",
        address="112 Sauchiehall Street, Glasgow G2 3DH",
        days_ahead=7,
        starts=time(20, 0),
        hours=1.5,
        description=(
            "You shout the suggestions, they make the show. No two nights alike.\n"
            "A tiny room with a big atmosphere: only twelve seats.\n"
            "16+."
        ),
        ticket_types=(T("General admission", 800, 12, sold=12, queued=5),),
    ),
    DemoEvent(
        name="A Midsummer Night's Dream",
        category="theatre",
        organiser=2,
        city=LONDON,
        venue_name="Riverside Playhouse",
        address="27 Southwark Street, London SE1 9HG",
        days_ahead=16,
        starts=time(19, 30),
        hours=2.75,
        description=(
            "Shakespeare's comedy of lovers, fairies and amateur actors, set in a 1970s disco.\n"
            "Running time about 2 hours 45 minutes including one interval.\n"
            "Captioned performance on the second Thursday of the run."
        ),
        ticket_types=(
            T("Stalls", 4500, 250, sold=20),
            T("Dress circle", 3800, 150, sold=6),
            T("Upper circle", 2200, 120),
        ),
    ),
    DemoEvent(
        name="The Future of Open Data in Cities",
        category="talk",
        organiser=2,
        city=LEEDS,
        venue_name="Cavendish Lecture Theatre",
        address="Cavendish Road, Leeds LS2 9JT",
        days_ahead=12,
        starts=time(18, 30),
        hours=1.5,
        description=(
            "Who owns the data your city runs on? Dr Amara Osei on transport feeds, air quality\n"
            "sensors and what happens when councils publish everything.\n"
            "Followed by questions and drinks in the foyer."
        ),
        ticket_types=(
            T("Free", 0, 150, sold=18, buyer_holds=1),
            T("Supporter", 1000, 30, sold=2),
        ),
    ),
    DemoEvent(
        name="Sourdough from Scratch",
        category="workshop",
        organiser=2,
        city=EDINBURGH,
        venue_name="Leith Kitchen Studio",
        address="58 The Shore, Edinburgh EH6 6RA",
        days_ahead=20,
        starts=time(10, 0),
        hours=4,
        description=(
            "A hands-on morning: feed a starter, shape a loaf and bake it in our deck oven.\n"
            "You go home with your bread, a jar of starter and the recipe.\n"
            "All ingredients and aprons provided; please tell us about allergies."
        ),
        ticket_types=(
            T("Early bird", 5500, 6, sale="early_bird", sold=3),
            T("Standard", 6500, 8, sold=1),
        ),
    ),
    DemoEvent(
        name="Seafront Folk Weekend",
        category="festival",
        organiser=1,
        city=BRIGHTON,
        venue_name="Madeira Drive Gardens",
        address="Madeira Drive, Brighton BN2 1EN",
        days_ahead=74,
        starts=time(12, 0),
        hours=58,
        description=(
            "Three stages of folk, roots and Americana by the sea, Friday noon to Sunday night.\n"
            "Food stalls, a ceilidh tent and free workshops for children.\n"
            "Under-12s go free with a paying adult; no ticket needed."
        ),
        ticket_types=(
            T("Early bird weekend", 6900, 300, sale="early_bird", sold=30),
            T("Weekend pass", 8900, 2000, sold=10, buyer_holds=2),
            T("Day ticket", 4500, 1000, sold=6),
            T("VIP weekend", 18900, 100),
        ),
    ),
    DemoEvent(
        name="Jazz at the Crypt: Emma Solano Quartet",
        category="concert",
        organiser=1,
        city=LONDON,
        venue_name="The Crypt Bar, St Martin's",
        address="Duncannon Street, London WC2N 4JJ",
        days_ahead=30,
        starts=time(20, 0),
        hours=2,
        description=(
            "Emma Solano's quartet play standards and originals under the brick vaults.\n"
            "Two sets with a break; candlelit tables and a full bar.\n"
            "Table seats are unreserved: arrive early for the front."
        ),
        ticket_types=(
            T("Table seat", 2400, 60, sold=8),
            T("Standing", 1600, 40),
        ),
    ),
    DemoEvent(
        name="Writing for the Web: Accessibility in Practice",
        category="talk",
        organiser=2,
        city=LONDON,
        venue_name="Clerkenwell Design Rooms",
        address="41 Clerkenwell Green, London EC1R 0DU",
        days_ahead=34,
        starts=time(18, 30),
        hours=2,
        description=(
            "Plain language, good headings and link text that makes sense out of context.\n"
            "Practical examples from three government redesigns.\n"
            "Live captions on the screen; the room is step-free."
        ),
        ticket_types=(T("Free", 0, 80, sold=10),),
    ),
    DemoEvent(
        name="Introduction to Screen Printing",
        category="workshop",
        organiser=2,
        city=MANCHESTER,
        venue_name="Ancoats Print Works",
        address="15 Blossom Street, Manchester M4 6AJ",
        days_ahead=27,
        starts=time(13, 0),
        hours=3,
        description=(
            "Learn to expose a screen, mix inks and pull a two-colour print.\n"
            "Bring a cotton T-shirt or tote bag, or buy one on the day.\n"
            "Suitable for complete beginners; maximum twelve people."
        ),
        ticket_types=(T("Workshop place", 4800, 12, sold=7, buyer_holds=1),),
    ),
    DemoEvent(
        name="The Lighthouse Keeper's Daughter",
        category="theatre",
        organiser=2,
        city=EDINBURGH,
        venue_name="Grassmarket Theatre",
        address="9 Grassmarket, Edinburgh EH1 2HS",
        days_ahead=41,
        starts=time(19, 30),
        hours=2,
        description=(
            "A new play by Isla McBride: a winter storm, a missing boat and a family secret.\n"
            "Performed without an interval.\n"
            "Contains references to bereavement."
        ),
        ticket_types=(
            T("Stalls", 2600, 180, sold=12),
            T("Balcony", 1800, 90),
            T("Concession", 1200, 40, sold=4),
        ),
    ),
    DemoEvent(
        name="Cardiff Choral Society: Carmina Burana",
        category="concert",
        organiser=1,
        city=CARDIFF,
        venue_name="Cathays Park Hall",
        address="Park Place, Cardiff CF10 3DP",
        days_ahead=55,
        starts=time(19, 0),
        hours=2,
        description=(
            "A hundred and twenty voices, two pianos and six percussionists.\n"
            "Orff's Carmina Burana with Fauré's Cantique de Jean Racine.\n"
            "Free programme with every ticket."
        ),
        ticket_types=(
            T("Nave", 3000, 350, sold=10),
            T("Side aisle", 2000, 150),
        ),
    ),
    DemoEvent(
        name="Peak District Food & Drink Festival",
        category="festival",
        organiser=1,
        city=HOPE_VALLEY,
        venue_name="Hathersage Showground",
        address="Hathersage, Hope Valley S32 1DD",
        days_ahead=96,
        starts=time(10, 0),
        hours=32,
        description=(
            "Over a hundred local producers, cookery demos and a craft beer tent.\n"
            "Saturday and Sunday, 10:00 to 18:00. Dogs on leads welcome.\n"
            "Free parking; shuttle bus from Hathersage station."
        ),
        ticket_types=(
            T("Day pass", 1500, 3000, sold=8),
            T("Weekend pass", 2500, 1500, sold=4),
            T("Child (under 12)", 0, 1000, sold=3),
            T("Final release weekend", 3000, 500, sale="later"),
        ),
    ),
    DemoEvent(
        name="The Understudies: Sketch Show Live",
        category="comedy",
        organiser=1,
        city=LONDON,
        venue_name="Hoxton Hall Studio",
        address="130 Hoxton Street, London N1 6SH",
        days_ahead=47,
        starts=time(19, 45),
        hours=1.5,
        description=(
            "The internet's favourite sketch troupe, live with all-new material.\n"
            "Seventy minutes, no interval.\n"
            "Recommended 14+."
        ),
        ticket_types=(
            T("Early bird", 1400, 60, sale="early_bird", sold=14),
            T("Standard", 1800, 140, sold=6),
        ),
    ),
    DemoEvent(
        name="Ask an Astronomer: Black Holes Explained",
        category="talk",
        organiser=2,
        city=OXFORD,
        venue_name="Broad Street Lecture Hall",
        address="21 Broad Street, Oxford OX1 3AS",
        days_ahead=62,
        starts=time(19, 0),
        hours=1.5,
        description=(
            "Professor Helen Varga on what we have learned from imaging black holes.\n"
            "Suitable for curious minds aged 12 and over.\n"
            "Telescopes on the lawn afterwards if the sky is clear."
        ),
        ticket_types=(
            T("Free", 0, 200, sold=22),
            T("Supporter", 500, 50, sold=3),
        ),
    ),
    DemoEvent(
        name="Autumn Strings: Chamber Music Evening",
        category="concert",
        organiser=1,
        city=BATH,
        venue_name="Pulteney Music Room",
        address="3 Great Pulteney Street, Bath BA2 4BR",
        days_ahead=120,
        starts=time(19, 30),
        hours=2,
        description=(
            "Haydn, Dvořák and Britten from the Avon String Quartet.\nProgramme to be confirmed."
        ),
        ticket_types=(T("Unreserved seating", 2200, 90),),
        draft=True,
    ),
    DemoEvent(
        name="Pottery Wheel Taster",
        category="workshop",
        organiser=2,
        city=BRISTOL,
        venue_name="Stokes Croft Clay Studio",
        address="88 Stokes Croft, Bristol BS1 3RJ",
        days_ahead=88,
        starts=time(14, 0),
        hours=2.5,
        description=(
            "Two and a half hours at the wheel with a potter.\n"
            "Your two best pieces are glazed, fired and ready to collect three weeks later."
        ),
        ticket_types=(T("Wheel place", 5500, 8),),
        draft=True,
    ),
    DemoEvent(
        name="Hamlet (Relaxed Performance)",
        category="theatre",
        organiser=2,
        city=LONDON,
        venue_name="Riverside Playhouse",
        address="27 Southwark Street, London SE1 9HG",
        days_ahead=140,
        starts=time(14, 30),
        hours=3,
        description=(
            "A relaxed performance: house lights stay low, and you may come and go.\n"
            "A visual story of the production will be on this page a week before."
        ),
        ticket_types=(T("Stalls", 2500, 250), T("Dress circle", 2000, 150)),
        draft=True,
    ),
    DemoEvent(
        name="Électrique: Synthwave Night",
        category="concert",
        organiser=1,
        city=PARIS,
        venue_name="La Cave du Canal",
        address="14 Quai de Valmy, 75010 Paris",
        days_ahead=19,
        starts=time(21, 0),
        hours=4,
        description=(
            "Four hours of analogue synths and neon with Lumière Noire and DJ Vapeur.\n"
            "Last entry 23:00. Cloakroom available.\n"
            "18+, ID required at the door."
        ),
        ticket_types=(
            T("Standing", 2500, 300, sold=18),
            T("VIP mezzanine", 6000, 40, sold=4),
        ),
    ),
    DemoEvent(
        name="Les Fourberies de Scapin (English surtitles)",
        category="theatre",
        organiser=2,
        city=PARIS,
        venue_name="Théâtre des Batignolles",
        address="18 Rue Lemercier, 75017 Paris",
        days_ahead=44,
        starts=time(20, 0),
        hours=2,
        description=(
            "Molière's fast-talking servant runs rings round two miserly fathers.\n"
            "Performed in French with English surtitles.\n"
            "Running time about two hours with an interval."
        ),
        ticket_types=(
            T("Orchestre", 3800, 220, sold=11),
            T("Balcon", 2400, 110),
        ),
    ),
    DemoEvent(
        name="Design Systems Berlin Meetup",
        category="talk",
        organiser=2,
        city=BERLIN,
        venue_name="Kreuzberg Loft",
        address="Oranienstraße 185, 10999 Berlin",
        days_ahead=14,
        starts=time(19, 0),
        hours=2.5,
        description=(
            "Three short talks on tokens, theming and documenting components.\n"
            "Talks in English. Pizza and drinks from 18:30.\n"
            "Code of conduct applies to everyone."
        ),
        ticket_types=(T("Free", 0, 120, sold=26, buyer_holds=1),),
    ),
    DemoEvent(
        name="Spree Sound Open Air",
        category="festival",
        organiser=1,
        city=BERLIN,
        venue_name="Treptower Park Meadow",
        address="Puschkinallee, 12435 Berlin",
        days_ahead=110,
        starts=time(14, 0),
        hours=34,
        description=(
            "Two days of house, techno and electronica on three riverside stages.\n"
            "Saturday 14:00 until Sunday midnight.\n"
            "Bring photo ID. Re-entry allowed with a wristband."
        ),
        ticket_types=(
            T("Early bird weekend", 6500, 500, sale="early_bird", sold=24),
            T("Weekend", 8500, 3000, sold=9),
            T("Day ticket", 4900, 2000, sold=4),
            T("VIP weekend", 15000, 150, sale="later"),
        ),
    ),
    DemoEvent(
        name="Analogue Photography & Darkroom Basics",
        category="workshop",
        organiser=2,
        city=BERLIN,
        venue_name="Studio Wedding",
        address="Gerichtstraße 23, 13347 Berlin",
        days_ahead=37,
        starts=time(11, 0),
        hours=5,
        description=(
            "Shoot a roll of black-and-white film around Wedding, then develop and print it.\n"
            "Cameras and film included; bring your own if you have one.\n"
            "Taught in English and German."
        ),
        ticket_types=(T("Workshop place", 7500, 10, sold=3),),
    ),
    DemoEvent(
        name="Canal Sessions: Acoustic Songwriters",
        category="concert",
        organiser=2,
        city=AMSTERDAM,
        venue_name="De Houten Zaal",
        address="Prinsengracht 285, 1016 GW Amsterdam",
        days_ahead=26,
        starts=time(20, 30),
        hours=2.5,
        description=(
            "Four songwriters, one wooden room, no amplification.\n"
            "Phones on silent, please: the quiet is the point.\n"
            "Bar open before the show and in the interval."
        ),
        ticket_types=(
            T("General admission", 1800, 120, sold=10),
            T("Reserved seat", 2400, 40, sold=4),
        ),
    ),
    DemoEvent(
        name="English Comedy Night Amsterdam",
        category="comedy",
        organiser=1,
        city=AMSTERDAM,
        venue_name="The Boom Room",
        address="Leidseplein 12, 1017 PT Amsterdam",
        days_ahead=11,
        starts=time(20, 0),
        hours=2,
        description=(
            "The best English-language stand-up in the Netherlands, every month.\n"
            "Headliner plus three support acts.\n"
            "18+."
        ),
        ticket_types=(T("General admission", 1500, 150, sold=22),),
    ),
    DemoEvent(
        name="Dublin Tech Talks: Building Reliable Payments",
        category="talk",
        organiser=2,
        city=DUBLIN,
        venue_name="Docklands Innovation Hub",
        address="9 Grand Canal Quay, Dublin 2, D02 VK31",
        days_ahead=29,
        starts=time(18, 0),
        hours=2,
        description=(
            "Idempotency keys, webhooks that arrive twice and reconciling the ledger.\n"
            "Two talks and a panel from engineers who run payments at scale.\n"
            "Food from 17:30."
        ),
        ticket_types=(T("Free", 0, 180, sold=30),),
    ),
    DemoEvent(
        name="Barcelona Guitar Nights: Flamenco & Beyond",
        category="concert",
        organiser=1,
        city=BARCELONA,
        venue_name="Sala del Born",
        address="Carrer de la Princesa 42, 08003 Barcelona",
        days_ahead=58,
        starts=time(21, 0),
        hours=2,
        description=(
            "Guitarist Tomás Vidal and dancer Lucía Ferrer, from flamenco to jazz.\n"
            "Seventy-five minutes without interval.\n"
            "Doors open 20:30."
        ),
        ticket_types=(
            T("Platea", 3200, 180, sold=9),
            T("Anfiteatro", 2200, 120),
            T("VIP with cava", 6500, 20, sold=2),
        ),
    ),
    DemoEvent(
        name="From Side Project to Studio",
        category="talk",
        organiser=2,
        city=NEW_YORK,
        venue_name="Dumbo Loft",
        address="55 Washington Street, Brooklyn, NY 11201",
        days_ahead=33,
        starts=time(18, 30),
        hours=2,
        description=(
            "Three Brooklyn makers on turning a weekend hobby into a business.\n"
            "Pricing, first hires and what they would do differently.\n"
            "Student tickets are free: bring your student ID."
        ),
        ticket_types=(
            T("General", 1500, 120, sold=12),
            T("Student", 0, 40, sold=5),
        ),
    ),
    DemoEvent(
        name="Late Night at the Blue Lantern: Noor Haddad Trio",
        category="concert",
        organiser=2,
        city=NEW_YORK,
        venue_name="The Blue Lantern",
        address="131 West 3rd Street, New York, NY 10012",
        days_ahead=66,
        starts=time(21, 30),
        hours=2,
        description=(
            "Piano trio jazz in a Greenwich Village basement.\nTwo-drink minimum at tables.\n21+."
        ),
        ticket_types=(
            T("Bar standing", 2500, 50, sold=6),
            T("Table", 4000, 36, sold=8),
        ),
    ),
)
