-- How long the image build of a deployment took (NULL when nothing was built).
ALTER TABLE deployments ADD COLUMN build_seconds REAL;
