/**
 * Baseline: a bare Fastify hello-world route, no logger, no plugins. Prints `READY <port>`
 * once listening on 127.0.0.1; stops on SIGTERM.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/", async () => ({ hello: "world" }));
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === "object" && address ? address.port : 0}\n`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
