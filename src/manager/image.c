/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bus-util.h"
#include "container.h"
#include "fd-util.h"
#include "image.h"
#include "log.h"
#include "name-util.h"
#include "operation.h"
#include "string-util.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

static void closedirp_(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static bool dot_or_dot_dot(const char *s) {
        return streq(s, ".") || streq(s, "..");
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* ---- pure parsing ------------------------------------------------------------------------------ */

int digest_parse(const char *s, char ret_hex[SHA256_HEX_LEN + 1]) {
        const char *h;

        if (!s)
                return -EINVAL;
        h = startswith_ptr(s, "sha256:");
        if (!h)
                return strchr(s, ':') ? -EOPNOTSUPP : -EINVAL;
        if (strlen(h) != SHA256_HEX_LEN || strspn(h, "0123456789abcdef") != SHA256_HEX_LEN)
                return -EINVAL;
        memcpy(ret_hex, h, SHA256_HEX_LEN + 1);
        return 0;
}

void oci_descriptor_done(OciDescriptor *d) {
        free(d->media_type);
        free(d->ref_name);
        free(d->os);
        free(d->architecture);
        free(d->variant);
        *d = (OciDescriptor) {};
}

void oci_descriptors_free(OciDescriptor *d, size_t n) {
        for (size_t i = 0; d && i < n; i++)
                oci_descriptor_done(d + i);
        free(d);
}

static const char *json_get_string(json_object *o, const char *key) {
        json_object *e;

        if (!o || !json_object_object_get_ex(o, key, &e) || !json_object_is_type(e, json_type_string))
                return NULL;
        return json_object_get_string(e);
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int oci_descriptor_from_json(json_object *o, OciDescriptor *ret, char **ret_error) {
        OciDescriptor d = {};
        const char *digest, *mt;
        json_object *e, *p;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return set_error(ret_error, -EBADMSG, "descriptor is not a JSON object");
        digest = json_get_string(o, "digest");
        r = digest_parse(digest, d.hex);
        if (r == -EOPNOTSUPP)
                return set_error(ret_error, r, "unsupported digest algorithm in '%s'", digest);
        if (r < 0)
                return set_error(ret_error, -EBADMSG, "descriptor has an invalid digest '%s'", strempty(digest));
        if (!json_object_object_get_ex(o, "size", &e) || !json_object_is_type(e, json_type_int) ||
            json_object_get_int64(e) < 0)
                return set_error(ret_error, -EBADMSG, "descriptor sha256:%s has no valid size", d.hex);
        d.size = (uint64_t) json_object_get_int64(e);
        mt = json_get_string(o, "mediaType");

        r = strdup_or_null(mt, &d.media_type);
        if (r >= 0 && json_object_object_get_ex(o, "annotations", &e))
                r = strdup_or_null(json_get_string(e, ANNOTATION_REF_NAME), &d.ref_name);
        if (r >= 0 && json_object_object_get_ex(o, "platform", &p)) {
                r = strdup_or_null(json_get_string(p, "os"), &d.os);
                if (r >= 0)
                        r = strdup_or_null(json_get_string(p, "architecture"), &d.architecture);
                if (r >= 0)
                        r = strdup_or_null(json_get_string(p, "variant"), &d.variant);
        }
        if (r < 0) {
                oci_descriptor_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

static int parse_json(const char *text, size_t size, const char *what, json_object **ret, char **ret_error) {
        json_tokener *tok;
        json_object *o;

        if (size > IMAGE_JSON_MAX)
                return set_error(ret_error, -EFBIG, "%s is too large (%zu bytes)", what, size);
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) size);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                int r = set_error(ret_error, -EBADMSG, "%s is malformed JSON: %s", what,
                                  json_tokener_error_desc(json_tokener_get_error(tok)));
                json_tokener_free(tok);
                json_object_put(o);
                return r;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object) && !json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                return set_error(ret_error, -EBADMSG, "%s is not a JSON object", what);
        }
        *ret = o;
        return 0;
}

static int descriptors_from_array(json_object *a, const char *what, OciDescriptor **ret, size_t *ret_n,
                                  char **ret_error) {
        OciDescriptor *d;
        size_t n;
        int r;

        if (!a || !json_object_is_type(a, json_type_array))
                return set_error(ret_error, -EBADMSG, "%s has no array", what);
        n = json_object_array_length(a);
        if (n > 1024)
                return set_error(ret_error, -E2BIG, "%s lists %zu descriptors, too many", what, n);
        d = calloc(n ?: 1, sizeof(OciDescriptor));
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *err = NULL;

                r = oci_descriptor_from_json(json_object_array_get_idx(a, i), d + i, &err);
                if (r < 0) {
                        oci_descriptors_free(d, n);
                        return set_error(ret_error, r, "%s, entry %zu: %s", what, i, strempty(err));
                }
        }
        *ret = d;
        *ret_n = n;
        return 0;
}

int oci_index_parse(const char *text, size_t size, OciDescriptor **ret, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        json_object *a = NULL;
        int r;

        r = parse_json(text, size, "index", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "manifests", &a))
                return set_error(ret_error, -EBADMSG, "index has no \"manifests\"");
        return descriptors_from_array(a, "index \"manifests\"", ret, ret_n, ret_error);
}

int oci_manifest_parse(const char *text, size_t size, OciDescriptor *ret_config, OciDescriptor **ret_layers,
                       size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        json_object *c = NULL, *l = NULL;
        OciDescriptor config = {};
        _cleanup_free_ char *err = NULL;
        int r;

        r = parse_json(text, size, "manifest", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "config", &c))
                return set_error(ret_error, -EBADMSG, "manifest has no \"config\"");
        r = oci_descriptor_from_json(c, &config, &err);
        if (r < 0)
                return set_error(ret_error, r, "manifest \"config\": %s", strempty(err));
        if (!json_object_object_get_ex(o, "layers", &l)) {
                oci_descriptor_done(&config);
                return set_error(ret_error, -EBADMSG, "manifest has no \"layers\"");
        }
        r = descriptors_from_array(l, "manifest \"layers\"", ret_layers, ret_n, ret_error);
        if (r < 0) {
                oci_descriptor_done(&config);
                return r;
        }
        *ret_config = config;
        return 0;
}

int parse_rfc3339(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *p;
        uint64_t frac = 0, scale = USEC_PER_SEC;
        long off = 0;
        time_t t;

        if (isempty(s))
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t) (*p - '0') * scale;
                        }
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -EINVAL;
                off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        t = timegm(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (uint64_t) (t - off) * USEC_PER_SEC + frac;
        return 0;
}

static int strv_from_json_array(json_object *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        *ret = NULL;
        if (!a || json_object_is_type(a, json_type_null))
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string))
                        return -EBADMSG;
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return -ENOMEM;
        }
        if (!l) {
                /* an empty array is not "unset": Entrypoint [] means "none" */
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void image_config_done(ImageConfig *c) {
        free(c->os);
        free(c->architecture);
        free(c->variant);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->env);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->labels);
        strv_free(c->exposed_ports);
        strv_free(c->diff_ids);
        *c = (ImageConfig) {};
}

int image_config_from_json(json_object *o, ImageConfig *ret, char **ret_error) {
        ImageConfig c = {};
        json_object *cfg = NULL, *rootfs = NULL, *e;
        const char *s;
        int r = 0;

        if (!json_object_is_type(o, json_type_object))
                return set_error(ret_error, -EBADMSG, "config is not a JSON object");

        if ((r = strdup_or_null(json_get_string(o, "os"), &c.os)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "architecture"), &c.architecture)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "variant"), &c.variant)) < 0)
                goto fail;
        s = json_get_string(o, "created");
        if (s && parse_rfc3339(s, &c.created_usec) < 0)
                c.created_usec = 0; /* informational only */

        if (json_object_object_get_ex(o, "config", &cfg) && json_object_is_type(cfg, json_type_object)) {
                static const struct {
                        const char *key;
                        size_t offset;
                } arrays[] = {
                        { "Entrypoint", offsetof(ImageConfig, entrypoint) },
                        { "Cmd", offsetof(ImageConfig, cmd) },
                        { "Env", offsetof(ImageConfig, env) },
                };
                for (size_t i = 0; i < ELEMENTSOF(arrays); i++) {
                        char ***p = (char ***) ((uint8_t *) &c + arrays[i].offset);
                        if (!json_object_object_get_ex(cfg, arrays[i].key, &e))
                                continue;
                        r = strv_from_json_array(e, p);
                        if (r == -EBADMSG) {
                                r = set_error(ret_error, r, "config \"%s\" is not an array of strings", arrays[i].key);
                                goto fail;
                        }
                        if (r < 0)
                                goto fail;
                }
                if ((r = strdup_or_null(json_get_string(cfg, "WorkingDir"), &c.working_dir)) < 0 ||
                    (r = strdup_or_null(json_get_string(cfg, "User"), &c.user)) < 0 ||
                    (r = strdup_or_null(json_get_string(cfg, "StopSignal"), &c.stop_signal)) < 0)
                        goto fail;
                if (json_object_object_get_ex(cfg, "Labels", &e) && json_object_is_type(e, json_type_object)) {
                        json_object_object_foreach(e, k, v) {
                                _cleanup_free_ char *kv = NULL;
                                if (!json_object_is_type(v, json_type_string))
                                        continue;
                                kv = strjoin(k, "=", json_object_get_string(v));
                                if (!kv || strv_consume(&c.labels, TAKE_PTR(kv)) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                        }
                }
                if (json_object_object_get_ex(cfg, "ExposedPorts", &e) && json_object_is_type(e, json_type_object)) {
                        json_object_object_foreach(e, k, v) {
                                (void) v;
                                if (strv_extend(&c.exposed_ports, k) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                        }
                }
        }

        if (!json_object_object_get_ex(o, "rootfs", &rootfs) || !json_object_is_type(rootfs, json_type_object) ||
            !json_object_object_get_ex(rootfs, "diff_ids", &e) || !json_object_is_type(e, json_type_array)) {
                r = set_error(ret_error, -EBADMSG, "config has no \"rootfs\".\"diff_ids\"");
                goto fail;
        }
        if (json_object_array_length(e) > IMAGE_LAYERS_MAX) {
                r = set_error(ret_error, -E2BIG, "config lists %zu layers, more than %u", json_object_array_length(e),
                              IMAGE_LAYERS_MAX);
                goto fail;
        }
        for (size_t i = 0; i < json_object_array_length(e); i++) {
                json_object *d = json_object_array_get_idx(e, i);
                char hex[SHA256_HEX_LEN + 1];

                if (!json_object_is_type(d, json_type_string) || digest_parse(json_object_get_string(d), hex) < 0) {
                        r = set_error(ret_error, -EBADMSG, "config \"rootfs\".\"diff_ids\"[%zu] is not a sha256 digest", i);
                        goto fail;
                }
                if (strv_extend(&c.diff_ids, hex) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        *ret = c;
        return 0;
fail:
        image_config_done(&c);
        return r;
}

int image_config_parse(const char *text, size_t size, ImageConfig *ret, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = parse_json(text, size, "config", &o, ret_error);
        if (r < 0)
                return r;
        return image_config_from_json(o, ret, ret_error);
}

const Platform *platform_native(void) {
        static const Platform p = {
                .os = "linux",
#if defined(__x86_64__)
                .architecture = "amd64",
#elif defined(__aarch64__)
                .architecture = "arm64",
                .variant = "v8",
#elif defined(__i386__)
                .architecture = "386",
#elif defined(__arm__)
                .architecture = "arm",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                .architecture = "ppc64le",
#elif defined(__s390x__)
                .architecture = "s390x",
#elif defined(__riscv) && __riscv_xlen == 64
                .architecture = "riscv64",
#else
                .architecture = "unknown",
#endif
        };
        return &p;
}

bool platform_matches(const Platform *want, const char *os, const char *architecture, const char *variant) {
        if (!os && !architecture)
                return true; /* no platform given: any */
        if (!streq_ptr(os, want->os) || !streq_ptr(architecture, want->architecture))
                return false;
        /* a variant given on both sides must agree; arm64 "v8" is the only arm64 there is */
        if (variant && want->variant && !streq(variant, want->variant))
                return false;
        return true;
}

static bool ref_matches(const char *ref_name, const char *ref) {
        const char *colon;

        if (!ref_name)
                return false;
        if (streq(ref_name, ref))
                return true;
        /* "docker.io/library/busybox:1.36" matches the ref "1.36" */
        colon = strrchr(ref_name, ':');
        return colon && !strchr(colon, '/') && streq(colon + 1, ref);
}

int oci_index_pick(const OciDescriptor *d, size_t n, const char *ref, const Platform *p, size_t *ret,
                   char **ret_error) {
        bool ref_given = !isempty(ref), any_ref_match = false;
        const char *want = ref_given ? ref : "latest";
        size_t found = SIZE_MAX, n_candidates = 0;

        if (n == 0)
                return set_error(ret_error, -ENOENT, "the index lists no manifests");

        for (size_t i = 0; i < n; i++)
                if (ref_matches(d[i].ref_name, want))
                        any_ref_match = true;
        if (ref_given && !any_ref_match)
                return set_error(ret_error, -ENOENT, "no image with ref '%s' in the index", ref);

        for (size_t i = 0; i < n; i++) {
                if (any_ref_match && !ref_matches(d[i].ref_name, want))
                        continue;
                n_candidates++;
                if (!platform_matches(p, d[i].os, d[i].architecture, d[i].variant))
                        continue;
                if (found != SIZE_MAX && !any_ref_match && !streq_ptr(d[found].ref_name, d[i].ref_name))
                        return set_error(ret_error, -EADDRNOTAVAIL,
                                         "the index holds several images and none is 'latest'; pick one with a ref");
                if (found == SIZE_MAX)
                        found = i;
        }
        if (found == SIZE_MAX)
                return set_error(ret_error, -ENOENT, "no manifest in the index for platform %s/%s%s%s (%zu candidates)",
                                 p->os, p->architecture, p->variant ? "/" : "", strempty(p->variant), n_candidates);
        *ret = found;
        return 0;
}

void docker_manifest_free(DockerManifestEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].config);
                strv_free(e[i].repo_tags);
                strv_free(e[i].layers);
        }
        free(e);
}

int docker_manifest_parse(const char *text, size_t size, DockerManifestEntry **ret, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *o = NULL;
        DockerManifestEntry *e;
        size_t n;
        int r;

        r = parse_json(text, size, "manifest.json", &o, ret_error);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_array))
                return set_error(ret_error, -EBADMSG, "manifest.json is not an array");
        n = json_object_array_length(o);
        if (n == 0)
                return set_error(ret_error, -ENOENT, "manifest.json lists no image");
        if (n > 1024)
                return set_error(ret_error, -E2BIG, "manifest.json lists too many images");
        e = calloc(n, sizeof(DockerManifestEntry));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(o, i), *a;
                const char *c = json_get_string(x, "Config");

                if (!c) {
                        docker_manifest_free(e, n);
                        return set_error(ret_error, -EBADMSG, "manifest.json entry %zu has no \"Config\"", i);
                }
                e[i].config = strdup(c);
                r = e[i].config ? 0 : -ENOMEM;
                if (r >= 0 && json_object_object_get_ex(x, "RepoTags", &a))
                        r = strv_from_json_array(a, &e[i].repo_tags);
                if (r >= 0) {
                        if (!json_object_object_get_ex(x, "Layers", &a))
                                r = -EBADMSG;
                        else
                                r = strv_from_json_array(a, &e[i].layers);
                }
                if (r < 0) {
                        docker_manifest_free(e, n);
                        if (r == -EBADMSG)
                                return set_error(ret_error, r, "manifest.json entry %zu: \"Layers\" or \"RepoTags\" is not an array of strings", i);
                        return r;
                }
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

int docker_manifest_pick(const DockerManifestEntry *e, size_t n, const char *ref, size_t *ret, char **ret_error) {
        const char *want = isempty(ref) ? "latest" : ref;

        for (size_t i = 0; i < n; i++)
                STRV_FOREACH(t, e[i].repo_tags)
                        if (ref_matches(*t, want)) {
                                *ret = i;
                                return 0;
                        }
        if (isempty(ref) && n == 1) {
                *ret = 0;
                return 0;
        }
        return set_error(ret_error, -ENOENT, "no image tagged '%s' in manifest.json", want);
}

bool layer_media_type_supported(const char *mt) {
        if (!mt)
                return true; /* docker's schema leaves it out in places; the bytes tell */
        return STR_IN_SET(mt, MEDIA_OCI_LAYER, MEDIA_OCI_LAYER "+gzip", MEDIA_OCI_LAYER "+zstd",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                          "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
}

/* ---- the store --------------------------------------------------------------------------------- */

Image *image_free(Image *i) {
        if (!i)
                return NULL;
        if (i->manager && i->name && hashmap_get(i->manager->images, i->name) == i)
                (void) hashmap_remove(i->manager->images, i->name);
        free(i->name);
        free(i->digest);
        free(i->config_digest);
        free(i->format);
        strv_free(i->layers);
        free(i->layer_sizes);
        image_config_done(&i->config);
        return mfree(i);
}

int image_path_label(const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;
        char *l;
        int r;

        r = sd_bus_path_encode("/x", name, &p);
        if (r < 0)
                return r;
        l = strdup(p + 3);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

int image_get_path(Image *i, char **ret) {
        return sd_bus_path_encode(VESSEL_IMAGE_PATH_PREFIX, i->name, ret);
}

static int store_dir(const char *state_dir, const char *sub, char **ret) {
        char *p = strjoin(state_dir, "/", sub);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int image_from_record(json_object *o, Image **ret, char **ret_error) {
        _cleanup_(image_freep) Image *i = NULL;
        json_object *e;
        int r;

        i = calloc(1, sizeof(Image));
        if (!i)
                return -ENOMEM;
        if ((r = strdup_or_null(json_get_string(o, "Name"), &i->name)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "Digest"), &i->digest)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "ConfigDigest"), &i->config_digest)) < 0 ||
            (r = strdup_or_null(json_get_string(o, "Format"), &i->format)) < 0)
                return r;
        if (!i->name || !image_name_is_valid(i->name))
                return set_error(ret_error, -EBADMSG, "record has no valid Name");
        if (json_object_object_get_ex(o, "Size", &e))
                i->size = (uint64_t) json_object_get_int64(e);
        if (json_object_object_get_ex(o, "Created", &e))
                i->created_usec = (uint64_t) json_object_get_int64(e);
        if (json_object_object_get_ex(o, "Imported", &e))
                i->imported_usec = (uint64_t) json_object_get_int64(e);
        if (!json_object_object_get_ex(o, "Layers", &e) || strv_from_json_array(e, &i->layers) < 0 || !i->layers)
                return set_error(ret_error, -EBADMSG, "record has no valid Layers");
        STRV_FOREACH(l, i->layers)
                if (strlen(*l) != SHA256_HEX_LEN || strspn(*l, "0123456789abcdef") != SHA256_HEX_LEN)
                        return set_error(ret_error, -EBADMSG, "record has an invalid layer '%s'", *l);
        i->layer_sizes = calloc(strv_length(i->layers) + 1, sizeof(uint64_t));
        if (!i->layer_sizes)
                return -ENOMEM;
        if (json_object_object_get_ex(o, "LayerSizes", &e) && json_object_is_type(e, json_type_array))
                for (size_t k = 0; k < json_object_array_length(e) && k < strv_length(i->layers); k++)
                        i->layer_sizes[k] = (uint64_t) json_object_get_int64(json_object_array_get_idx(e, k));
        if (!json_object_object_get_ex(o, "Config", &e))
                return set_error(ret_error, -EBADMSG, "record has no Config");
        r = image_config_from_json(e, &i->config, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

static int image_load_record(Manager *m, int images_fd, const char *file, Image **ret) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_json_ json_object *o = NULL;
        size_t size;
        int r;

        r = read_full_file_at(images_fd, file, IMAGE_JSON_MAX * 2, &text, &size);
        if (r < 0)
                return log_warning_errno(r, "Failed to read image record %s: %m", file);
        r = parse_json(text, size, file, &o, &error);
        if (r >= 0)
                r = image_from_record(o, ret, &error);
        if (r < 0)
                return log_warning_errno(r, "Ignoring image record %s: %s", file, error ?: strerror(-r));
        (*ret)->manager = m;
        return 0;
}

static int image_add(Manager *m, Image *i) {
        Image *old;
        _cleanup_free_ char *p = NULL;
        int r;

        old = hashmap_get(m->images, i->name);
        if (old) {
                if (image_get_path(old, &p) >= 0)
                        (void) manager_emit_signal(m, "ImageRemoved", "so", old->name, p);
                p = mfree(p);
                image_free(old);
        }
        r = hashmap_put(m->images, i->name, i);
        if (r < 0)
                return r;
        i->manager = m;
        if (image_get_path(i, &p) >= 0)
                (void) manager_emit_signal(m, "ImageNew", "so", i->name, p);
        return 0;
}

int manager_add_image_from_store(Manager *m, const char *name, Image **ret) {
        _cleanup_free_ char *label = NULL, *file = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        Image *i;
        int r;

        r = image_path_label(name, &label);
        if (r < 0)
                return r;
        file = strjoin(label, ".json");
        if (!file)
                return -ENOMEM;
        r = store_dir(m->state_dir, "images", &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = image_load_record(m, fd, file, &i);
        if (r < 0)
                return r;
        if (!streq(i->name, name)) {
                image_free(i);
                return -EBADMSG;
        }
        r = image_add(m, i);
        if (r < 0) {
                image_free(i);
                return r;
        }
        if (ret)
                *ret = i;
        return 0;
}

static void remove_temporaries(int dir_fd) {
        _cleanup_(closedirp_) DIR *d = NULL;
        int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#"))
                        (void) unlinkat(dir_fd, de->d_name, 0);
}

int manager_load_images(Manager *m) {
        _cleanup_free_ char *images = NULL, *layers = NULL, *tmp = NULL;
        _cleanup_close_ int images_fd = -EBADF, layers_fd = -EBADF;
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        int r;

        if ((r = store_dir(m->state_dir, "images", &images)) < 0 ||
            (r = store_dir(m->state_dir, "layers", &layers)) < 0 || (r = store_dir(m->state_dir, "tmp", &tmp)) < 0)
                return log_oom();

        /* debris of imports that did not finish: work directories, half-written files */
        (void) rm_rf(tmp);
        FOREACH_STRING(p, images, layers, tmp)
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", p);

        layers_fd = open(layers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        images_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0 || images_fd < 0)
                return log_error_errno(errno, "Failed to open the image store: %m");
        remove_temporaries(layers_fd);
        remove_temporaries(images_fd);

        d = fdopendir(fcntl(images_fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return log_error_errno(errno, "Failed to read %s: %m", images);
        while ((de = readdir(d))) {
                Image *i;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".json"))
                        continue;
                if (hashmap_size(m->images) >= IMAGES_MAX)
                        break;
                if (image_load_record(m, images_fd, de->d_name, &i) < 0)
                        continue;
                if (hashmap_put(m->images, i->name, i) < 0) {
                        log_warning("Duplicate image record for %s, ignoring %s.", i->name, de->d_name);
                        i->manager = NULL;
                        image_free(i);
                }
        }
        log_debug("Loaded %zu images.", hashmap_size(m->images));
        return 0;
}

void manager_free_images(Manager *m) {
        Image *i;

        while (hashmap_size(m->images) > 0) {
                unsigned k = 0;
                if (!hashmap_iterate(m->images, &k, (void **) &i, NULL))
                        break;
                image_free(i);
        }
}

Image *manager_find_image(Manager *m, const char *name) {
        _cleanup_free_ char *n = NULL;
        Image *i;

        if (isempty(name))
                return NULL;
        i = hashmap_get(m->images, name);
        if (i)
                return i;
        if (image_name_normalize(name, &n) < 0)
                return NULL;
        return hashmap_get(m->images, n);
}

int image_lower_dirs(Image *i, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = strv_length(i->layers);

        /* overlayfs wants the topmost lower first */
        for (size_t k = n; k > 0; k--) {
                char *j = strjoin(strempty(s), s ? ":" : "", i->manager->state_dir, "/layers/", i->layers[k - 1]);
                if (!j)
                        return -ENOMEM;
                free(s);
                s = j;
        }
        if (!s)
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

Container *image_find_user(Image *i) {
        Container *c;

        HASHMAP_FOREACH(c, i->manager->containers)
                if (streq_ptr(c->image, i->name))
                        return c;
        return NULL;
}

int image_remove(Image *i) {
        Manager *m = i->manager;
        _cleanup_free_ char *label = NULL, *file = NULL, *path = NULL, *name = NULL;
        int r;

        r = image_path_label(i->name, &label);
        if (r < 0)
                return r;
        file = strjoin(m->state_dir, "/images/", label, ".json");
        name = strdup(i->name);
        if (!file || !name)
                return -ENOMEM;
        if (unlink(file) < 0 && errno != ENOENT)
                return -errno;
        (void) image_get_path(i, &path);
        image_free(i);
        if (path)
                (void) manager_emit_signal(m, "ImageRemoved", "so", name, path);
        log_info("Removed image %s.", name);
        /* its layers go with it unless another image or a container uses them */
        (void) manager_prune_layers(m, NULL, NULL);
        return 0;
}

static bool layer_is_used(Manager *m, const char *hex) {
        Image *i;
        Container *c;

        HASHMAP_FOREACH(i, m->images)
                if (strv_contains(i->layers, hex))
                        return true;
        HASHMAP_FOREACH(c, m->containers)
                if (c->lower_dir && strstr(c->lower_dir, hex))
                        return true;
        return false;
}

static uint64_t du_at(int dir_fd, const char *name) {
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        uint64_t sum = 0;
        int fd;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (dot_or_dot_dot(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                sum += (uint64_t) st.st_blocks * 512;
                if (S_ISDIR(st.st_mode))
                        sum += du_at(dirfd(d), de->d_name);
        }
        return sum;
}

uint64_t image_store_du(int dir_fd, const char *name) {
        return du_at(dir_fd, name);
}

int manager_prune_layers(Manager *m, uint64_t *ret_freed, unsigned *ret_n) {
        _cleanup_free_ char *layers = NULL;
        _cleanup_(closedirp_) DIR *d = NULL;
        struct dirent *de;
        uint64_t freed = 0;
        unsigned n = 0;

        /* an import may be about to name a layer it found in the store */
        if (hashmap_size(m->transfers) > 0)
                return -EBUSY;
        if (store_dir(m->state_dir, "layers", &layers) < 0)
                return -ENOMEM;
        d = opendir(layers);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                char hex[SHA256_HEX_LEN + 1];
                const char *dot;

                if (de->d_name[0] == '.')
                        continue;
                memcpy(hex, de->d_name, MIN(strlen(de->d_name), (size_t) SHA256_HEX_LEN));
                hex[MIN(strlen(de->d_name), (size_t) SHA256_HEX_LEN)] = 0;
                if (strlen(hex) != SHA256_HEX_LEN || strspn(hex, "0123456789abcdef") != SHA256_HEX_LEN)
                        continue;
                dot = de->d_name + SHA256_HEX_LEN;
                if (!IN_SET(*dot, 0, '.'))
                        continue;
                if (layer_is_used(m, hex))
                        continue;
                if (*dot == 0) {
                        freed += du_at(dirfd(d), de->d_name);
                        if (rm_rf_at(dirfd(d), de->d_name) < 0)
                                continue;
                        n++;
                } else
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        if (n > 0)
                log_info("Pruned %u unused layers (%" PRIu64 " bytes).", n, freed);
        if (ret_freed)
                *ret_freed = freed;
        if (ret_n)
                *ret_n = n;
        return 0;
}
