from datetime import UTC, date, datetime

import pytest

from sim.calendar import BusinessCalendar, CalendarError, to_timestamp, utc
from tests.sim.sim_helpers import local

NY = "America/New_York"


def ny() -> BusinessCalendar:
    return BusinessCalendar(NY, "US", opens="09:00", closes="17:00", cutoff="15:00")


def test_before_cutoff_accepted_at_once() -> None:
    t = local(NY, 2025, 11, 18, 14, 59)
    assert ny().next_accepting(t) == (t, "")


def test_after_cutoff_waits_for_next_business_day() -> None:
    start, why = ny().next_accepting(local(NY, 2025, 11, 18, 15, 30))
    assert start == local(NY, 2025, 11, 19, 9)
    assert why == "after cut-off"


def test_friday_after_cutoff_waits_over_weekend() -> None:
    start, why = ny().next_accepting(local(NY, 2025, 11, 21, 16))
    assert start == local(NY, 2025, 11, 24, 9)
    assert why == "after cut-off; weekend"


def test_local_holiday_named() -> None:
    # Wednesday evening before Thanksgiving: Thursday is a holiday, Friday is a business day
    start, why = ny().next_accepting(local(NY, 2025, 11, 26, 18))
    assert start == local(NY, 2025, 11, 28, 9)
    assert why == "after closing; holiday: Thanksgiving Day"


def test_friday_payment_lands_on_tuesday_after_memorial_day_weekend() -> None:
    cal = ny()
    start, why = cal.next_accepting(local(NY, 2025, 5, 23, 16))  # Friday before Memorial Day
    assert start == local(NY, 2025, 5, 27, 9)
    assert why == "after cut-off; weekend; holiday: Memorial Day"


def test_uae_weekend_changed_from_fri_sat_to_sat_sun() -> None:
    ae = BusinessCalendar("Asia/Dubai", "AE")
    assert ae.closure_reason(date(2021, 12, 24)) == "weekend"       # Friday, 2021
    assert ae.closure_reason(date(2021, 12, 26)) is None            # Sunday was a workday
    assert ae.closure_reason(date(2022, 1, 7)) is None              # Friday, 2022
    assert ae.closure_reason(date(2022, 1, 9)) == "weekend"         # Sunday, 2022


def test_date_line_friday_in_new_york_is_saturday_in_apia() -> None:
    apia = BusinessCalendar("Pacific/Apia", "WS", opens="08:30", closes="16:00")
    t = local(NY, 2025, 11, 21, 16)   # Friday 16:00 in New York
    assert apia.local_date(t) == date(2025, 11, 22)
    assert not apia.is_open(t)
    start, why = apia.next_accepting(t)
    assert apia.local(start).replace(tzinfo=None) == datetime(2025, 11, 24, 8, 30)
    assert why == "weekend"
    # Monday 08:30 in Apia is still Sunday afternoon in New York
    assert utc(start).astimezone(ny().tz).date() == date(2025, 11, 23)


def test_samoa_skipped_day_2011() -> None:
    apia = BusinessCalendar("Pacific/Apia", None, opens="00:00", closes="24:00")
    thu = local("Pacific/Apia", 2011, 12, 29, 12)
    # 30 Dec 2011 did not exist in Samoa: 24 business hours later is Saturday noon
    assert apia.local(thu + 24 * 3600).date() == date(2011, 12, 31)


def test_daylight_saving_change_moves_utc_opening() -> None:
    ldn = BusinessCalendar("Europe/London", "GB", opens="08:00", closes="18:00")
    before = ldn.day(date(2025, 3, 28)).opens     # GMT
    after = ldn.day(date(2025, 3, 31)).opens      # BST
    assert utc(before).hour == 8 and utc(after).hour == 7
    # 10 business hours from Friday 17:00 run 1 h Friday + 9 h Monday, across the change
    end = ldn.add_business_seconds(local("Europe/London", 2025, 3, 28, 17), 10 * 3600)
    assert ldn.local(end).replace(tzinfo=None) == datetime(2025, 3, 31, 17)


def test_add_business_seconds_skips_weekend_and_holiday() -> None:
    cal = BusinessCalendar(NY, "US", opens="09:00", closes="17:00")
    end = cal.add_business_seconds(local(NY, 2025, 11, 26, 15), 4 * 3600)  # Wed 15:00
    assert end == local(NY, 2025, 11, 28, 11)   # Thanksgiving skipped
    assert cal.business_seconds_between(local(NY, 2025, 11, 26, 15), end) == pytest.approx(
        4 * 3600)


def test_next_open_and_next_business_day_start() -> None:
    cal = ny()
    sat = local(NY, 2025, 11, 22, 12)
    assert cal.next_open(sat) == local(NY, 2025, 11, 24, 9)
    assert cal.next_business_day_start(local(NY, 2025, 11, 24, 10)) == local(NY, 2025, 11, 25, 9)
    assert cal.is_open(local(NY, 2025, 11, 24, 16)) and not cal.accepts(local(NY, 2025, 11, 24, 16))


def test_bad_calendars_are_explained() -> None:
    with pytest.raises(CalendarError, match="unknown time zone 'Europe/Londn'"):
        BusinessCalendar("Europe/Londn", "GB")
    with pytest.raises(CalendarError, match="cutoff"):
        BusinessCalendar(NY, "US", opens="09:00", closes="17:00", cutoff="18:00")
    with pytest.raises(CalendarError, match="no time zone"):
        to_timestamp(datetime(2025, 1, 1))
    assert to_timestamp(datetime(2025, 1, 1, tzinfo=UTC)) == 1735689600.0
