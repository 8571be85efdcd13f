-- An image a provider pulled with a credential is private to it, whatever another provider
-- calls it: `app`, `docker.io/library/app:latest` and a local image found by the last part
-- of its name are one image to podman. Rows record the reference's canonical name
-- (staxad.model.images) and the image id it resolved to; rows from before keep NULLs and
-- are matched by their reference as written, as before.
ALTER TABLE images ADD COLUMN canonical TEXT;
ALTER TABLE images ADD COLUMN image_id TEXT;
CREATE INDEX images_canonical ON images (canonical) WHERE private = 1;
CREATE INDEX images_image_id ON images (image_id) WHERE private = 1;
