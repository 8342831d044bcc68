"""The pipeline's storage on a real S3 protocol endpoint (moto's server): stable keys, overwrites in place, the
object parameters django-storages would send, and uploads from many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.core.files.storage import default_storage

from generation import storage


def test_saving_twice_at_one_key_leaves_one_object_with_the_second_content(s3_bucket):
    storage.save("avatars/t1/1/1.jpg", b"first")
    storage.save("avatars/t1/1/1.jpg", b"second")
    assert s3_bucket.keys("avatars/") == ["avatars/t1/1/1.jpg"]
    assert storage.read("avatars/t1/1/1.jpg") == b"second"


def test_a_saved_file_carries_its_content_type_and_the_configured_object_parameters(s3_bucket, settings):
    settings.STORAGES["default"]["OPTIONS"]["object_parameters"] = {"CacheControl": "max-age=86400"}
    settings.STORAGES = dict(settings.STORAGES)  # a new storage object with the option
    storage.save("avatars/t1/1/base.png", b"\x89PNG not really")
    storage.save("avatars/t1/1/2.jpg", b"\xff\xd8 not really")
    client = s3_bucket.client()
    png = client.head_object(Bucket=s3_bucket.name, Key="avatars/t1/1/base.png")
    jpeg = client.head_object(Bucket=s3_bucket.name, Key="avatars/t1/1/2.jpg")
    assert (png["ContentType"], jpeg["ContentType"]) == ("image/png", "image/jpeg")
    assert png["CacheControl"] == jpeg["CacheControl"] == "max-age=86400"


def test_eight_threads_uploading_at_once_store_every_file_intact(s3_bucket):
    files = {f"avatars/t2/{n}/{m}.jpg": bytes([n, m]) * 5000 for n in range(4) for m in range(1, 9)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: storage.save(*item), files.items()))
    assert s3_bucket.keys("avatars/t2/") == sorted(files)
    assert all(storage.read(key) == data for key, data in files.items())
    assert default_storage.url("avatars/t2/0/1.jpg").endswith(f"/{s3_bucket.name}/avatars/t2/0/1.jpg")
