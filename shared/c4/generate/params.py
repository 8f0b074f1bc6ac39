"""Calibration constants of the generator, in one place (documented in ``docs/generator.md``).

Rates are per day unless said otherwise.  Log-effects multiply a hazard or a rate by
``exp(effect)``.  The values were tuned so that the generated data lands in the ranges of
published in-store WiFi studies (``/work/shared/NOTES.md``): 72-85 % one-time guests in six
months, weekend share 30-35 %, 4-6 zone sessions per visit, lognormal dwell.
"""

from __future__ import annotations

# -- calendar ------------------------------------------------------------------------------
#: Visit intensity by weekday (Monday first).
DOW_FACTOR = (0.90, 0.88, 0.92, 0.97, 1.13, 1.22, 1.00)
#: Open national holidays (malls busier than a normal weekday).
HOLIDAY_FACTOR = 1.35
#: Days the malls close: (month, day) everywhere, plus per country.
CLOSED_ALL = ((1, 1), (12, 25))
CLOSED_BY_COUNTRY = {"CL": ((5, 1), (9, 18), (9, 19)), "PE": (), "CO": ()}
#: Payday lift and the days of month it applies to (negative = counted from month end).
PAYDAY_FACTOR = {"CL": 1.15, "PE": 1.10, "CO": 1.12}
PAYDAY_DAYS = {"CL": (-3, -2, -1, 0, 1), "PE": (15, 16, -1, 0, 1), "CO": (15, 16, -1, 0, 1)}
#: December: ramps linearly from 1.0 on Dec 1 to this on Dec 23; Dec 24 peak; Dec 26-31.
DECEMBER_PEAK = 1.75
CHRISTMAS_EVE = 1.9
DECEMBER_AFTER = 1.1

#: Visit start hour profiles over 0..23 (truncated to each mall's opening hours).
HOUR_WEEKDAY = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.55,
    0.75,
    1.05,
    1.25,
    0.95,
    0.85,
    0.95,
    1.15,
    1.3,
    1.2,
    0.75,
    0.3,
    0,
    0,
)
HOUR_WEEKEND = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.5,
    0.95,
    1.25,
    1.35,
    1.35,
    1.3,
    1.2,
    1.05,
    0.95,
    0.75,
    0.45,
    0.2,
    0,
    0,
)

# -- world scenario (drawn per seed over the whole chain) -----------------------------------
N_DECLINING = 3
DECLINE_HAZARD_PER_YEAR = 0.6  # hazard x (1 + this * years since start)
DECLINE_VISITS_PER_YEAR = -0.15  # log visit intensity per year
DECLINE_ARRIVALS_PER_YEAR = -0.35  # log arrival intensity per year
N_GROWING = 3
GROWTH_ARRIVALS_PER_YEAR = 0.3
COMPETITOR_CITIES = ("Santiago", "Lima", "Bogotá")
COMPETITOR_WINDOW = (0.35, 0.75)  # opening day as a share of the window
COMPETITOR_HAZARD = 1.5
COMPETITOR_VISITS = 0.9
COMPETITOR_ARRIVALS = 0.8
WIFI_EPISODES_PER_YEAR = 0.8  # per mall
WIFI_EPISODE_DAYS = (14, 42)
WIFI_EPISODE_SIGNAL_DB = -9.0
WIFI_EPISODE_FAILED_MULT = 3.0
WIFI_EPISODE_HAZARD = 1.6

# -- guests --------------------------------------------------------------------------------
PRE_WINDOW_DAYS = 540  # pre-existing guests arrived up to this many days before start
EXTRA_DAYS = 800  # calendar kept after the window (oracle horizons, dropout)
OS_NAMES = ("android", "ios", "windows", "macos", "other")
OS_SHARE = {
    "CL": (0.58, 0.36, 0.025, 0.02, 0.015),
    "PE": (0.78, 0.17, 0.02, 0.01, 0.02),
    "CO": (0.72, 0.23, 0.02, 0.01, 0.02),
}
LOGIN_NAMES = ("social", "email", "sms", "voucher", "click_through")
LOGIN_SHARE = (0.34, 0.22, 0.24, 0.05, 0.15)
AGE_NAMES = ("18-24", "25-34", "35-44", "45-54", "55+")
AGE_SHARE = (0.22, 0.29, 0.22, 0.15, 0.12)
GENDER_NAMES = ("female", "male", "other")
GENDER_SHARE = (0.52, 0.46, 0.02)
#: Probability that the portal registration holds age band / gender, by login method.
PROFILE_SHARE = (0.85, 0.5, 0.35, 0.0, 0.0)

#: BG/NBD-like core (Fader, Hardie & Lee 2005, the published WiFi fits; time in weeks):
#: visit rate ~ gamma(r, 1/alpha), dropout probability per visit p ~ beta(a, b).
BG_R = 0.22
BG_ALPHA_WEEKS = 1.6
BG_A, BG_B = 0.8, 0.9
#: Visit rate (visits per day at seasonality 1): gamma(BG_R, 1/BG_ALPHA) / 7 x trait effects.
RATE_SHAPE = BG_R
RATE_MEAN = BG_R / BG_ALPHA_WEEKS / 7
RATE_LOGIN = (0.15, 0.0, 0.05, -0.5, -0.25)
RATE_OS = (0.0, 0.05, -0.3, -0.3, -0.2)
RATE_AGE = (-0.1, 0.05, 0.1, 0.0, -0.05, 0.0)  # last: unknown
#: Dropout: p is shifted on the logit scale by the trait effects below; the guest drops out
#: right after the first visit with probability p, and afterwards with the hazard
#: ``p * rate * exp(experience effects) + HAZARD_FLOOR * exp(all effects)`` per day (the
#: continuous-time form of "drops out after each visit with probability p"), times the home
#: mall's factors (decline, competitor, WiFi trouble) and the bad-episode multiplier.
HAZARD_FLOOR = 1 / 1500
LOGIN_EFFECT = (-0.5, 0.0, 0.2, 1.0, 0.6)  # on hazard and on logit(p0)
OS_EFFECT = (0.0, -0.2, 0.3, 0.3, 0.4)
AGE_EFFECT = (0.3, 0.05, -0.1, -0.2, -0.1, 0.0)
SIGNAL_OFFSET_SD = 4.0  # dB, device/guest signal offset
SIGNAL_EFFECT_PER_DB = -0.07  # log hazard per dB of offset (weaker = riskier)
FRICTION_SHAPE = 2.0  # failed-login propensity, gamma mean 1
FRICTION_EFFECT = 0.5  # hazard x friction ** this

#: Bad-experience episode (device / portal trouble): hazard per day, then effects.
BAD_EPISODE_RATE = 1 / 600
BAD_EPISODE_OS = (0.0, -0.3, 0.2, 0.2, 0.5)
BAD_EPISODE_LOGIN = (0.0, -0.1, 0.4, 0.3, 0.0)
BAD_EPISODE_PER_DB = -0.06  # weaker mall signal -> more episodes
BAD_EPISODE_HAZARD = 6.0
BAD_EPISODE_SIGNAL_DB = -10.0
BAD_EPISODE_FAILED_MULT = 5.0

#: Disengagement before a hazard dropout: visit rate ramps from 1 to a floor.
DISENGAGE_DAYS = (45, 150)
DISENGAGE_FLOOR = (0.05, 0.3)
DISENGAGE_DWELL = 0.7  # dwell x (1 - this * (1 - progress))
DISENGAGE_ZONES = 0.6  # zone sessions x (1 - this * (1 - progress))

#: Away visits: share of a guest's visits made in other malls ~ Beta(a, b).
AWAY_A, AWAY_B = 1.3, 11.0
AWAY_OTHER_CITY = 0.1  # weight of other-city malls vs same-city malls
AWAY_NO_NEIGHBOUR = 0.35  # away share multiplier when no other mall in the same city

# -- sessions ------------------------------------------------------------------------------
ZONE_MEDIAN_MIN = {
    "entrada": 4.0,
    "patio_comidas": 15.0,
    "tiendas_moda": 11.0,
    "supermercado": 13.0,
    "cine": 16.0,
    "zona_infantil": 14.0,
    "tecnologia": 8.0,
    "gimnasio": 16.0,
    "terraza": 10.0,
    "bulevar": 6.0,
}
ZONE_WEIGHT = {
    "entrada": 0.8,
    "patio_comidas": 1.6,
    "tiendas_moda": 1.5,
    "supermercado": 1.0,
    "cine": 0.5,
    "zona_infantil": 0.45,
    "tecnologia": 0.7,
    "gimnasio": 0.3,
    "terraza": 0.6,
    "bulevar": 0.9,
}
ZONE_SIGNAL_DB = {
    "entrada": -3.0,
    "patio_comidas": 0.0,
    "tiendas_moda": 1.0,
    "supermercado": -4.0,
    "cine": -8.0,
    "zona_infantil": -1.0,
    "tecnologia": 1.0,
    "gimnasio": -5.0,
    "terraza": -2.0,
    "bulevar": -2.0,
}
FIRST_ZONE_ENTRANCE = 0.5
DWELL_SIGMA = 1.6
DWELL_MAX_MIN = 300.0
GAP_MEAN_MIN = 2.0
ZONES_PER_VISIT = {"S": 4.6, "M": 5.2, "L": 5.6, "XL": 6.0}
MAX_ZONE_SESSIONS = 14
BYTES_RATE_MEDIAN = {
    "android": 9_000.0,
    "ios": 14_000.0,
    "windows": 30_000.0,
    "macos": 35_000.0,
    "other": 6_000.0,
}  # bytes/s
BYTES_RATE_SIGMA_GUEST = 0.8
BYTES_RATE_SIGMA_SESSION = 0.7
BYTES_UP_SHARE = (0.04, 0.3)  # share of bytes_down sent up: lo + (hi - lo) * U**2
SIGNAL_OS_DB = (-1.0, 1.0, 3.0, 3.0, -3.0)
SIGNAL_NOISE_DB = 4.5
SIGNAL_CLIP = (-95, -30)
FAILED_BASE = (0.08, 0.12, 0.22, 0.3, 0.03)  # per visit, by login method
