from privacy import Pseudonymiser
from privacy.bulk import MIN_PARALLEL_BATCH, pseudonymise_bulk, pseudonymise_bulk_arrow


def test_bulk_on_all_cores_equals_one_by_one_in_order(keyring):
    values = [f"bsn:{100000000 + i}" for i in range(MIN_PARALLEL_BATCH + 7)]
    expected = Pseudonymiser(keyring, "internal").pseudonyms(values)
    assert pseudonymise_bulk(keyring, "internal", values, workers=2) == expected
    assert pseudonymise_bulk_arrow(keyring, "internal", values, workers=2).to_pylist() == expected


def test_small_batches_stay_in_process(keyring):
    assert pseudonymise_bulk(keyring, "RN", ["a", "b"], workers=4) == Pseudonymiser(
        keyring, "RN").pseudonyms(["a", "b"])
