"""The run's clocks (issue 19): phases add up, from several threads, in the order a run meets them."""

from __future__ import annotations

import threading
import time

from pipeline.timing import CLASSIFICATION, ENCODING, IMPORTS, PLANNING, WRITES, Budget, process_age


def test_a_phase_adds_its_wall_time_each_time_it_is_entered() -> None:
    budget = Budget()
    for _ in range(2):
        with budget.phase(CLASSIFICATION):
            time.sleep(0.05)
    assert 0.1 <= budget.seconds[CLASSIFICATION] < 1.0
    assert budget.total() == budget.seconds[CLASSIFICATION]


def test_a_phase_that_raises_still_counts() -> None:
    budget = Budget()
    try:
        with budget.phase(WRITES):
            time.sleep(0.02)
            raise ValueError("a failed write")
    except ValueError:
        pass
    assert budget.seconds[WRITES] >= 0.02


def test_threads_adding_at_once_lose_nothing() -> None:
    budget = Budget()

    def add() -> None:
        for _ in range(10_000):
            budget.add(ENCODING, 0.001)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert round(budget.seconds[ENCODING], 6) == 40.0


def test_phases_are_reported_in_the_order_a_run_meets_them_and_unknown_ones_last() -> None:
    budget = Budget()
    budget.add_all({"something else": 1.0, WRITES: 2.0, IMPORTS: 0.5, PLANNING: 0.25})
    assert list(budget.as_dict()) == [IMPORTS, PLANNING, WRITES, "something else"]
    assert budget.as_dict()[IMPORTS] == 0.5


def test_process_age_counts_from_the_process_start_not_from_the_first_call() -> None:
    age = process_age()
    assert age > 0  # this test process started before this line ran
    time.sleep(0.2)
    assert process_age() - age >= 0.1
