"""Dirty photos as cameras, phones and editors write them, built by the tests themselves.

Each builder writes a small photo carrying one kind of identifying data, using Pillow,
pillow-heif, piexif or raw segment and chunk writing. Every secret is one of ``SECRETS``,
so a test can check that none of them survives in the anonymised copy.
"""

import io
import struct

import piexif
from PIL import Image, PngImagePlugin

SERIAL = "SN-4471-TESTSERIAL"
OWNER = "Jane Photographer"
FACE_NAME = "Joan Activist"
CAPTION = "Protest outside the ministry, 2 June 2020"
SECRETS = [SERIAL, OWNER, FACE_NAME, CAPTION, "TestCam", "2020:06:02"]

SIZE = (64, 48)


def small_image(colour=(120, 90, 60), size=SIZE):
    return Image.new("RGB", size, colour)


def jpeg_bytes(image=None, **options):
    buffer = io.BytesIO()
    (image or small_image()).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def thumbnail_jpeg():
    return jpeg_bytes(small_image((200, 30, 30), (16, 12)))


def dirty_exif(orientation=1):
    """EXIF as a phone or camera writes it: GPS position, serial, owner, date, a thumbnail."""
    return piexif.dump({
        "0th": {
            piexif.ImageIFD.Make: b"TestCam",
            piexif.ImageIFD.Model: b"Model 9",
            piexif.ImageIFD.Artist: OWNER.encode(),
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.DateTime: b"2020:06:02 18:35:12",
        },
        "Exif": {
            piexif.ExifIFD.BodySerialNumber: SERIAL.encode(),
            piexif.ExifIFD.CameraOwnerName: OWNER.encode(),
            piexif.ExifIFD.DateTimeOriginal: b"2020:06:02 18:35:12",
            piexif.ExifIFD.MakerNote: b"TestCam maker note " + SERIAL.encode(),
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((40, 1), (42, 1), (4632, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"W",
            piexif.GPSIFD.GPSLongitude: ((73, 1), (59, 1), (2184, 100)),
        },
        "1st": {piexif.ImageIFD.JPEGInterchangeFormat: 0, piexif.ImageIFD.JPEGInterchangeFormatLength: 0},
        "thumbnail": thumbnail_jpeg(),
    })


XMP_WITH_FACE_REGION = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">
   <dc:creator><rdf:Seq><rdf:li>{OWNER}</rdf:li></rdf:Seq></dc:creator>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="64" stDim:h="48" stDim:unit="pixel"/>
    <mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">
     <mwg-rs:Name>{FACE_NAME}</mwg-rs:Name>
     <mwg-rs:Type>Face</mwg-rs:Type>
     <mwg-rs:Area stArea:x="0.5" stArea:y="0.4" stArea:w="0.2" stArea:h="0.3" stArea:unit="normalized"/>
    </rdf:li></rdf:Bag></mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def segment(marker, body):
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def with_segments(jpeg, *segments):
    """The JPEG with extra segments right after its start marker, as cameras place them."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def iptc_segment():
    """APP13: Photoshop resources holding IPTC (by-line, caption) and a Photoshop thumbnail."""
    def record(dataset, text):
        data = text.encode()
        return b"\x1c\x02" + bytes([dataset]) + struct.pack(">H", len(data)) + data

    def resource(resource_id, data):
        data += bytes(len(data) % 2)
        return b"8BIM" + struct.pack(">H", resource_id) + b"\x00\x00" + struct.pack(">I", len(data)) + data

    iptc = record(80, OWNER) + record(120, CAPTION)
    thumbnail = struct.pack(">IIIIIIHH", 1, 16, 12, 48, 576, len(thumbnail_jpeg()), 24, 1) + thumbnail_jpeg()
    return segment(0xED, b"Photoshop 3.0\x00" + resource(0x0404, iptc) + resource(0x040C, thumbnail))


def jumbf_c2pa_segment():
    """APP11: a JUMBF superbox labelled c2pa, as C2PA content credentials are stored."""
    def box(kind, payload):
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    description = box(b"jumd", bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03c2pa\x00")
    claim = box(b"json", f'{{"claim_generator": "TestCam", "author": "{OWNER}"}}'.encode())
    manifest = box(b"jumb", description + claim + box(b"bidb", thumbnail_jpeg()))
    return segment(0xEB, b"JP" + struct.pack(">HI", 1, 1) + manifest)


def jpeg_with_gps_serial_and_thumbnail(path):
    small_image().save(path, "JPEG", exif=dirty_exif(), quality=90)


def jpeg_with_xmp_face_region(path):
    path.write_bytes(with_segments(jpeg_bytes(), segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP_WITH_FACE_REGION)))


def jpeg_with_iptc(path):
    path.write_bytes(with_segments(jpeg_bytes(), iptc_segment()))


def jpeg_with_jfxx_thumbnail_and_comment(path):
    jfxx = segment(0xE0, b"JFXX\x00\x10" + thumbnail_jpeg())
    comment = segment(0xFE, f"Photo by {OWNER}".encode())
    path.write_bytes(with_segments(jpeg_bytes(), jfxx, comment))


def mpo_with_a_second_image(path):
    """An MPO, as phones write portrait and HDR photos: the photo, then a depth map."""
    depth_map = Image.new("RGB", SIZE, (40, 40, 40))
    small_image().save(path, "MPO", save_all=True, append_images=[depth_map], exif=dirty_exif())


def jpeg_with_motion_photo_trailer(path):
    """A motion photo: the JPEG, then a short video after its end marker."""
    video = struct.pack(">I", 24) + b"ftypmp42" + bytes(12) + f"video by {OWNER}".encode()
    path.write_bytes(jpeg_bytes() + video)


def jpeg_with_app11_c2pa(path):
    path.write_bytes(with_segments(jpeg_bytes(), jumbf_c2pa_segment()))


def png_with_text_chunks(path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", OWNER)
    info.add_itxt("Description", CAPTION)
    info.add_text("Comment", f"face: {FACE_NAME}", zip=True)
    info.add(b"tIME", struct.pack(">HBBBBB", 2020, 6, 2, 18, 35, 12))
    small_image().save(path, "PNG", pnginfo=info, exif=dirty_exif())


def webp_with_exif_and_xmp(path):
    small_image().save(path, "WEBP", exif=dirty_exif(), xmp=XMP_WITH_FACE_REGION)


def tiff_with_tags(path):
    tags = {270: CAPTION, 315: OWNER, 305: "TestCam firmware", 700: XMP_WITH_FACE_REGION}
    small_image().save(path, "TIFF", tiffinfo=tags, exif=dirty_exif())


def gif_with_comment_and_xmp(path):
    """A GIF with a comment, and XMP stored the way Adobe does: raw, then a "magic trailer"
    of bytes 0x01, 0xFF down to 0x00 that makes the raw bytes parse as GIF data blocks."""
    buffer = io.BytesIO()
    small_image().save(buffer, "GIF", comment=f"Photo by {OWNER}")
    magic_trailer = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    xmp_extension = b"\x21\xff\x0bXMP DataXMP" + XMP_WITH_FACE_REGION + magic_trailer
    data = buffer.getvalue()
    assert data.endswith(b"\x3b")
    path.write_bytes(data[:-1] + xmp_extension + b"\x3b")


def heic_with_exif_and_xmp(path):
    small_image().save(path, "HEIF", exif=dirty_exif(), xmp=XMP_WITH_FACE_REGION, quality=80)


def avif_with_exif_and_xmp(path):
    small_image().save(path, "AVIF", exif=dirty_exif(), xmp=XMP_WITH_FACE_REGION, quality=80)

