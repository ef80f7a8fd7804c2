"""Ids seen so far: the same answers in memory and after moving to disk."""

from supporter.sources.seen import SeenIds


def test_duplicates_are_found_on_both_sides_of_the_spill() -> None:
    seen = SeenIds(in_memory=3)
    assert [seen.first_line(f"id{n}", n) for n in range(1, 5)] == [1, 2, 3, 4]  # 4th spills
    assert seen.first_line("id2", 10) == 2  # read before the spill, found on disk
    assert seen.first_line("id5", 11) == 11
    assert seen.first_line("id5", 12) == 11  # read after the spill
    assert seen.first_line("ID5", 13) == 13  # ids compare exactly
    seen.close()


def test_below_the_threshold_nothing_goes_to_disk() -> None:
    seen = SeenIds(in_memory=10)
    for n in range(10):
        seen.first_line(str(n), n)
    assert seen.first_line("3", 99) == 3
    assert seen._disk is None
