import java.nio.file.Path;
import java.util.Collections;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;

/**
 * Starts one OpenSearch node in this JVM, in the foreground, until SIGTERM.
 *
 * <p>OpenSearch's own entry point (org.opensearch.bootstrap.OpenSearch) rejects root, and CI runs
 * as root. This launcher skips the bootstrap layer: the root check, the security manager, native
 * memory locking and the bootstrap checks. It builds the node the way the bootstrap does. It
 * reads opensearch.yml from -Dopensearch.path.conf, configures log4j from the same folder and
 * loads the modules under -Dopensearch.path.home/modules. Use it only for a local node on
 * loopback.
 */
public final class BridgeOpenSearchNode {
    private BridgeOpenSearchNode() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(requiredProperty("opensearch.path.home"));
        Path conf = Path.of(requiredProperty("opensearch.path.conf"));
        Settings input = Settings.builder().put("path.home", home.toString()).build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            input, Collections.emptyMap(), conf, () -> "bridge-node");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);

        Node node = new Node(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("OpenSearch node failed to close: " + e);
            } finally {
                stopped.countDown();
            }
        }, "bridge-opensearch-shutdown"));

        node.start();
        // Node threads are daemon threads, so this non-daemon main thread keeps the JVM alive.
        stopped.await();
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing system property -D" + name);
        }
        return value;
    }
}
