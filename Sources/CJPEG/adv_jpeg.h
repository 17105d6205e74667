/* JPEG decode/encode helpers for adv's data pipeline (Sources/Engine/Data/Formats/JPEG.swift).
   libjpeg reports fatal errors through error_exit, which must not return; these helpers catch it
   with setjmp/longjmp inside C (Swift cannot), and turn warnings (e.g. a truncated file) into errors,
   as Pillow does. */
#ifndef ADV_JPEG_H
#define ADV_JPEG_H
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct adv_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int warnings;
};

static void adv_jpeg_error_exit(j_common_ptr cinfo) {
    struct adv_jpeg_error *e = (struct adv_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void adv_jpeg_emit_message(j_common_ptr cinfo, int level) {
    struct adv_jpeg_error *e = (struct adv_jpeg_error *)cinfo->err;
    if (level < 0 && e->warnings++ == 0) (*cinfo->err->format_message)(cinfo, e->message);
}

/* Decodes the JPEG in buf[0..len). want_channels: 1 (gray), 3 (RGB) or 0 (as stored: 1 or 3).
   On success returns 0 and a malloc'd buffer of width*height*channels bytes in *out (caller frees).
   On failure returns nonzero and writes a message to err. Images above max_pixels are refused
   before any pixel memory is allocated. */
static inline int adv_jpeg_decode(const unsigned char *buf, unsigned long len, int want_channels,
                                  unsigned long max_pixels, unsigned char **out, int *width, int *height,
                                  int *channels, char *err, int errlen) {
    struct jpeg_decompress_struct cinfo;
    struct adv_jpeg_error jerr;
    unsigned char *volatile data = NULL;
    *out = NULL;
    memset(&jerr, 0, sizeof(jerr));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = adv_jpeg_error_exit;
    jerr.pub.emit_message = adv_jpeg_emit_message;
    if (setjmp(jerr.jump)) {
        snprintf(err, (size_t)errlen, "%s", jerr.message);
        jpeg_destroy_decompress(&cinfo);
        free(data);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, len);
    jpeg_read_header(&cinfo, TRUE);
    int c = want_channels ? want_channels : (cinfo.num_components == 1 ? 1 : 3);
    cinfo.out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if ((unsigned long)cinfo.image_width * (unsigned long)cinfo.image_height > max_pixels) {
        snprintf(err, (size_t)errlen, "image is %ux%u pixels, more than the %lu allowed",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    data = (unsigned char *)malloc(stride * cinfo.output_height + 1);
    if (!data) {
        snprintf(err, (size_t)errlen, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 3;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = data + stride * cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;
    }
    if (jerr.warnings == 0) jpeg_finish_decompress(&cinfo);
    *width = (int)cinfo.output_width;
    *height = (int)cinfo.output_height;
    *channels = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    if (jerr.warnings > 0) {
        snprintf(err, (size_t)errlen, "%s", jerr.message);
        free(data);
        return 4;
    }
    *out = data;
    return 0;
}

/* Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels as a baseline JPEG of the given quality.
   On success returns 0 and a malloc'd buffer in *out of *out_len bytes (caller frees). */
static inline int adv_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                                  unsigned char **out, unsigned long *out_len, char *err, int errlen) {
    struct jpeg_compress_struct cinfo;
    struct adv_jpeg_error jerr;
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    memset(&jerr, 0, sizeof(jerr));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = adv_jpeg_error_exit;
    jerr.pub.emit_message = adv_jpeg_emit_message;
    if (setjmp(jerr.jump)) {
        snprintf(err, (size_t)errlen, "%s", jerr.message);
        jpeg_destroy_compress(&cinfo);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &mem_len);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = mem;
    *out_len = mem_len;
    return 0;
}
#endif
