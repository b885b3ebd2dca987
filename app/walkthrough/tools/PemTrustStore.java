import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

/**
 * Turn a PEM CA bundle (such as $SSL_CERT_FILE, which trusts a TLS-intercepting proxy) into a PKCS12 truststore.
 * Usage: java PemTrustStore.java BUNDLE.pem OUT.p12 PASSWORD (a single-file program: no build step).
 */
public class PemTrustStore {

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: java PemTrustStore.java BUNDLE.pem OUT.p12 PASSWORD");
            System.exit(64);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int count = 0;
        try (InputStream in = new FileInputStream(args[0])) {
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + count++, cert);
            }
        }
        if (count == 0) {
            System.err.println("no certificates found in " + args[0]);
            System.exit(65);
        }
        try (OutputStream out = new FileOutputStream(args[1])) {
            store.store(out, args[2].toCharArray());
        }
        System.out.println(count + " certificates -> " + args[1]);
    }
}
