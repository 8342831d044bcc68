"""The pipeline's storage on a real S3 protocol endpoint (moto's server): stable keys, overwrites in place, the
object parameters django-storages would send, uploads from many threads at once, and the thumbnails' keys and URLs,
kept and deleted with their images."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.storage import default_storage

from generation.integrations import storage


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


# --- Thumbnail keys and URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "width", "expected"),
    [
        ("avatars/t1/7/3.jpg", 256, "avatars/t1/7/3.thumb256.webp"),
        ("avatars/t1/7/3.v41.jpg", 512, "avatars/t1/7/3.v41.thumb512.webp"),
        ("avatars/t1/7/base.png", 256, "avatars/t1/7/base.thumb256.webp"),
        ("avatars/t1/7/base.v9.jpg", 512, "avatars/t1/7/base.v9.thumb512.webp"),
        ("avatars/t1/7/12.webp", 256, "avatars/t1/7/12.thumb256.webp"),
        ("avatars/t1/7/3.thumb512.webp", 256, "avatars/t1/7/3.thumb256.webp"),  # a thumbnail's sibling
    ],
)
def test_a_thumbnail_key_is_the_image_key_without_its_extension_and_with_the_width(key, width, expected):
    assert storage.thumbnail_key(key, width) == expected
    assert storage.is_thumbnail(expected)


def test_no_image_key_of_any_version_looks_like_a_thumbnail_and_no_two_images_share_thumbnails(settings):
    images = [storage.base_key("t1", 7, "png", version) for version in ("", "v1", "v41")]
    images += [storage.tile_key("t1", 7, position, version) for position in range(1, 21) for version in ("", "v41")]
    thumbnails = [thumbnail for key in images for thumbnail in storage.thumbnail_keys(key)]
    assert not any(storage.is_thumbnail(key) for key in images)
    assert all(storage.is_thumbnail(key) for key in thumbnails)
    assert len(set(thumbnails)) == len(thumbnails) == 2 * len(images)
    assert not set(thumbnails) & set(images)


def test_a_version_that_is_not_a_unit_number_is_refused_so_it_cannot_make_a_thumbnail_like_key():
    with pytest.raises(ValueError, match="a version is 'v' and a unit's number"):
        storage.tile_key("t1", 7, 3, "thumb256")


def test_thumbnail_url_maps_an_s3_url_to_its_thumbnail_s_url(s3_bucket):
    image = default_storage.url("avatars/t1/7/3.v41.jpg")
    assert storage.thumbnail_url(image, 256) == default_storage.url("avatars/t1/7/3.v41.thumb256.webp")
    assert storage.thumbnail_url(image, 512) == default_storage.url("avatars/t1/7/3.v41.thumb512.webp")
    base = default_storage.url("avatars/t1/7/base.png")
    assert storage.thumbnail_url(base, 256).endswith(f"/{s3_bucket.name}/avatars/t1/7/base.thumb256.webp")


def test_thumbnail_url_maps_a_local_media_url_and_a_custom_domain_url(settings):
    assert storage.thumbnail_url("/media/avatars/ab12cd34/9/base.jpg", 512) == (
        "/media/avatars/ab12cd34/9/base.thumb512.webp"
    )
    assert storage.thumbnail_url("https://cdn.example.com/avatars/ab12cd34/9/4.jpg", 256) == (
        "https://cdn.example.com/avatars/ab12cd34/9/4.thumb256.webp"
    )


@pytest.mark.parametrize(
    "url", ["https://elsewhere.example.com/face.jpg", "/media/faces/f/ana.jpg", "/media/avatars/t1/base.jpg", ""]
)
def test_thumbnail_url_gives_back_a_url_that_is_not_ours_as_it_is(url):
    assert storage.thumbnail_url(url, 256) == url


def test_thumbnail_url_refuses_a_width_no_thumbnail_is_made_at():
    with pytest.raises(ValueError, match="not 300"):
        storage.thumbnail_url("/media/avatars/t1/1/1.jpg", 300)


def test_image_files_are_the_image_and_each_thumbnail_and_refuse_an_image_without_them():
    files = storage.image_files("avatars/t1/1/2.jpg", b"jpeg", {256: b"small", 512: b"large"})
    assert files == [
        ("avatars/t1/1/2.jpg", b"jpeg"),
        ("avatars/t1/1/2.thumb256.webp", b"small"),
        ("avatars/t1/1/2.thumb512.webp", b"large"),
    ]
    with pytest.raises(ValueError, match=r"lacks its thumbnails \[512\]"):
        storage.image_files("avatars/t1/1/2.jpg", b"jpeg", {256: b"small"})


def test_prune_result_keeps_a_kept_image_s_thumbnails_and_deletes_a_replaced_one_s(s3_bucket):
    old, new = "avatars/t3/5/2.jpg", "avatars/t3/5/2.v8.jpg"
    for key in (old, new, "avatars/t3/5/base.jpg"):
        for stored, data in storage.image_files(key, b"image", {256: b"a", 512: b"b"}):
            storage.save(stored, data)
    pruned = storage.prune_result("t3", 5, {new, "avatars/t3/5/base.jpg", None})
    assert pruned == 3
    assert s3_bucket.keys("avatars/t3/") == [
        "avatars/t3/5/2.v8.jpg",
        "avatars/t3/5/2.v8.thumb256.webp",
        "avatars/t3/5/2.v8.thumb512.webp",
        "avatars/t3/5/base.jpg",
        "avatars/t3/5/base.thumb256.webp",
        "avatars/t3/5/base.thumb512.webp",
    ]


def test_delete_tree_removes_the_thumbnails_with_the_images(s3_bucket):
    for stored, data in storage.image_files("avatars/t4/1/1.jpg", b"image", {256: b"a", 512: b"b"}):
        storage.save(stored, data)
    assert storage.delete_tree(storage.task_prefix("t4")) == 3
    assert s3_bucket.keys("avatars/t4/") == []
