import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// The domain schemas are also the api's OpenAPI components. zod 4 copies methods onto each
// schema when it is created, so `.openapi()` must be added before the first domain schema
// exists, not later when the api module loads. Every domain file takes z from here.
extendZodWithOpenApi(z);

export { z };
