// webpack 5 with no configuration: the default entry (src/index.js) and output (dist/main.js).
import "../../web/main.js";
