-- accounted_resource(resource): the usage_minutes resource a Kubernetes resource name counts
-- as, or NULL when it is not accounted. Both accelerator kinds are 'accelerators': a flavor
-- (HyperPod instance type) has only one of them.
CREATE OR REPLACE MACRO accounted_resource(resource) AS
    CASE resource
        WHEN 'nvidia.com/gpu' THEN 'accelerators'
        WHEN 'aws.amazon.com/neurondevice' THEN 'accelerators'
        WHEN 'cpu' THEN 'cpu_millis'
        WHEN 'memory' THEN 'memory_bytes'
    END;
