// Jena's SPARQL engine (ARQ) over a TDB2 store, the engine Apache Jena Fuseki runs, served on loopback for the tests
// and the benches with the SPARQL 1.1 Protocol and the Graph Store HTTP Protocol.
//
// Fuseki's own jars come only from Maven's repository, which this project's machines cannot reach; Debian packages
// Jena's libraries (libapache-jena-java) but not Fuseki. This front is the part of Fuseki the service talks to, kept
// small: the query, update and Graph Store endpoints, content negotiation, the `timeout` parameter in seconds and
// Basic authentication on writes, as Fuseki has them. What it does not have is Fuseki's own HTTP layer.
//
//   java -cp CLASSPATH JenaEngine --port N --location DIR [--union] [--user U --password P]
//   GET|POST /query   (query=, default-graph-uri=, named-graph-uri=, timeout= in seconds)
//   POST     /update  (application/sparql-update, or update= in a form)
//   GET|PUT|POST|DELETE|HEAD /data?graph=IRI or ?default
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.jena.graph.Graph;
import org.apache.jena.graph.Node;
import org.apache.jena.graph.NodeFactory;
import org.apache.jena.graph.Triple;
import org.apache.jena.query.Query;
import org.apache.jena.query.QueryCancelledException;
import org.apache.jena.query.QueryExecution;
import org.apache.jena.query.QueryFactory;
import org.apache.jena.query.QueryParseException;
import org.apache.jena.query.ResultSet;
import org.apache.jena.query.ResultSetFormatter;
import org.apache.jena.rdf.model.Model;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.riot.RDFLanguages;
import org.apache.jena.riot.RDFParser;
import org.apache.jena.riot.RiotException;
import org.apache.jena.riot.system.StreamRDF;
import org.apache.jena.riot.system.StreamRDFWriter;
import org.apache.jena.sparql.core.DatasetDescription;
import org.apache.jena.sparql.core.DatasetGraph;
import org.apache.jena.sparql.graph.GraphFactory;
import org.apache.jena.sparql.core.DynamicDatasets;
import org.apache.jena.system.Txn;
import org.apache.jena.tdb2.DatabaseMgr;
import org.apache.jena.tdb2.TDB2;
import org.apache.jena.update.UpdateAction;
import org.apache.jena.update.UpdateFactory;
import org.apache.jena.update.UpdateRequest;

public final class JenaEngine {
    private static DatasetGraph store;
    private static boolean union;
    private static String credentials; // "user:password" for writes, or null

    private static final class Failure extends RuntimeException {
        final int status;

        Failure(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    public static void main(String[] args) throws IOException {
        int port = 0;
        String location = null;
        String user = null, password = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port": port = Integer.parseInt(args[++i]); break;
                case "--location": location = args[++i]; break;
                case "--union": union = true; break;
                case "--user": user = args[++i]; break;
                case "--password": password = args[++i]; break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (location == null) throw new IllegalArgumentException("--location DIR is required");
        credentials = user == null ? null : user + ":" + password;
        store = DatabaseMgr.connectDatasetGraph(location);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.createContext("/query", exchange -> handle(exchange, JenaEngine::query));
        server.createContext("/update", exchange -> handle(exchange, JenaEngine::update));
        server.createContext("/data", exchange -> handle(exchange, JenaEngine::graphStore));
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
    }

    private interface Handler {
        void run(HttpExchange exchange, Map<String, List<String>> params) throws IOException;
    }

    private static void handle(HttpExchange exchange, Handler handler) {
        try (exchange) {
            try {
                Map<String, List<String>> params = decode(exchange.getRequestURI().getRawQuery());
                handler.run(exchange, params);
            } catch (Failure failure) {
                answer(exchange, failure.status, failure.getMessage());
            } catch (QueryParseException | RiotException error) {
                answer(exchange, 400, "Parse error: " + error.getMessage());
            } catch (QueryCancelledException error) {
                answer(exchange, 503, "Query cancelled: the time limit was reached");
            } catch (RuntimeException error) {
                answer(exchange, 500, error.toString());
            }
        } catch (IOException ignored) {
            // the client went away
        }
    }

    private static void answer(HttpExchange exchange, int status, String text) throws IOException {
        byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, status == 204 || status == 304 ? -1 : body.length);
        if (status != 204 && status != 304) exchange.getResponseBody().write(body);
    }

    private static Map<String, List<String>> decode(String raw) {
        Map<String, List<String>> params = new HashMap<>();
        if (raw == null || raw.isEmpty()) return params;
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return params;
    }

    private static String mediaType(HttpExchange exchange) {
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        return type == null ? "" : type.split(";")[0].trim().toLowerCase();
    }

    private static String first(Map<String, List<String>> params, String name) {
        List<String> values = params.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The form's fields joined to the URL's: a POST of application/x-www-form-urlencoded. */
    private static void readForm(HttpExchange exchange, Map<String, List<String>> params) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        decode(body).forEach((name, values) -> params.computeIfAbsent(name, k -> new ArrayList<>()).addAll(values));
    }

    /** The first of `offered` the Accept header takes, best q first; the first offered when it names none of them. */
    private static String negotiate(HttpExchange exchange, List<String> offered) {
        String accept = exchange.getRequestHeaders().getFirst("Accept");
        if (accept == null || accept.isBlank()) return offered.get(0);
        List<String[]> ranges = new ArrayList<>();
        for (String part : accept.split(",")) {
            String[] pieces = part.trim().split(";");
            String q = "1";
            for (int i = 1; i < pieces.length; i++) {
                String piece = pieces[i].trim();
                if (piece.startsWith("q=")) q = piece.substring(2);
            }
            ranges.add(new String[] {pieces[0].trim().toLowerCase(), q});
        }
        ranges.sort(Comparator.comparingDouble((String[] r) -> -Double.parseDouble(r[1])));
        for (String[] range : ranges) {
            if (Double.parseDouble(range[1]) <= 0) continue;
            for (String type : offered) {
                if (range[0].equals(type) || range[0].equals("*/*")
                        || (range[0].endsWith("/*") && type.startsWith(range[0].substring(0, range[0].length() - 1))))
                    return type;
            }
        }
        throw new Failure(406, "Not Acceptable: none of " + String.join(", ", offered));
    }

    private static final List<String> RESULT_TYPES = List.of("application/sparql-results+json", "application/json",
            "application/sparql-results+xml", "text/csv", "text/tab-separated-values");
    private static final List<String> GRAPH_TYPES = List.of("text/turtle", "application/n-triples", "text/plain",
            "application/rdf+xml", "application/ld+json", "application/n-quads", "application/trig");

    private static Lang graphLang(String type) {
        return type.equals("text/plain") ? Lang.NTRIPLES : RDFLanguages.contentTypeToLang(type);
    }

    private static void query(HttpExchange exchange, Map<String, List<String>> params) throws IOException {
        String method = exchange.getRequestMethod();
        String text;
        if (method.equals("POST") && mediaType(exchange).equals("application/sparql-query")) {
            text = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        } else if (method.equals("POST") && mediaType(exchange).equals("application/x-www-form-urlencoded")) {
            readForm(exchange, params);
            text = first(params, "query");
        } else if (method.equals("GET") || method.equals("HEAD")) {
            text = first(params, "query");
        } else {
            throw new Failure(method.equals("POST") ? 415 : 405, "a query is a GET, or a POST of a form or of application/sparql-query");
        }
        if (text == null) throw new Failure(400, "no query= parameter");
        Query query = QueryFactory.create(text);
        // The protocol's graphs replace the query's FROM and FROM NAMED (SPARQL 1.1 Protocol §2.1.4); a query's own FROM
        // is left to TDB2's query engine, which builds that dataset itself.
        List<String> graphs = params.getOrDefault("default-graph-uri", List.of());
        List<String> namedGraphs = params.getOrDefault("named-graph-uri", List.of());
        boolean dynamic = !graphs.isEmpty() || !namedGraphs.isEmpty();
        if (dynamic) {
            query.getGraphURIs().clear();
            query.getNamedGraphURIs().clear();
        }
        boolean ownDataset = dynamic || query.hasDatasetDescription();
        String timeout = first(params, "timeout");
        List<String> offered = query.isSelectType() || query.isAskType() ? RESULT_TYPES : GRAPH_TYPES;
        String type = negotiate(exchange, offered);
        Txn.executeRead(store, () -> {
            DatasetGraph dataset = dynamic ? DynamicDatasets.dynamicDataset(DatasetDescription.create(graphs, namedGraphs), store, false) : store;
            var builder = QueryExecution.create().query(query).dataset(dataset);
            if (union && !ownDataset) builder.set(TDB2.symUnionDefaultGraph, true);
            if (timeout != null) builder.timeout((long) (Double.parseDouble(timeout) * 1000), TimeUnit.MILLISECONDS);
            try (QueryExecution execution = builder.build()) {
                write(exchange, query, execution, type);
            } catch (IOException error) {
                throw new RuntimeException(error);
            }
        });
    }

    private static void write(HttpExchange exchange, Query query, QueryExecution execution, String type) throws IOException {
        // An answer is made whole before it is sent, so that a parse or a time limit still has its status code.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (query.isSelectType()) {
            ResultSet results = execution.execSelect();
            switch (type) {
                case "application/sparql-results+xml": ResultSetFormatter.outputAsXML(out, results); break;
                case "text/csv": ResultSetFormatter.outputAsCSV(out, results); break;
                case "text/tab-separated-values": ResultSetFormatter.outputAsTSV(out, results); break;
                default: ResultSetFormatter.outputAsJSON(out, results);
            }
        } else if (query.isAskType()) {
            boolean answer = execution.execAsk();
            switch (type) {
                case "application/sparql-results+xml": ResultSetFormatter.outputAsXML(out, answer); break;
                case "text/csv": ResultSetFormatter.outputAsCSV(out, answer); break;
                case "text/tab-separated-values": ResultSetFormatter.outputAsTSV(out, answer); break;
                default: ResultSetFormatter.outputAsJSON(out, answer);
            }
        } else {
            Lang lang = graphLang(type);
            if (lang == Lang.NTRIPLES || lang == Lang.NQUADS) {
                StreamRDF stream = StreamRDFWriter.getWriterStream(out, lang);
                stream.start();
                Iterator<Triple> triples = query.isConstructType() ? execution.execConstructTriples()
                        : execution.execDescribeTriples();
                triples.forEachRemaining(stream::triple);
                stream.finish();
            } else {
                Model model = query.isConstructType() ? execution.execConstruct() : execution.execDescribe();
                RDFDataMgr.write(out, model, lang == Lang.NQUADS || lang == Lang.TRIG ? Lang.TURTLE : lang);
            }
        }
        exchange.getResponseHeaders().set("Content-Type", type + (type.startsWith("text/") || type.endsWith("json")
                ? "; charset=utf-8" : ""));
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(200, head ? -1 : out.size() == 0 ? -1 : out.size());
        if (!head) out.writeTo(exchange.getResponseBody());
    }

    private static void authorise(HttpExchange exchange) {
        if (credentials == null) return;
        String given = exchange.getRequestHeaders().getFirst("Authorization");
        String expected = "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        if (!expected.equals(given)) {
            exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"jena\"");
            throw new Failure(401, "Unauthorized: writes need the engine's user and password");
        }
    }

    private static void update(HttpExchange exchange, Map<String, List<String>> params) throws IOException {
        if (!exchange.getRequestMethod().equals("POST")) throw new Failure(405, "an update is a POST");
        authorise(exchange);
        String text;
        if (mediaType(exchange).equals("application/sparql-update")) {
            text = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        } else if (mediaType(exchange).equals("application/x-www-form-urlencoded")) {
            readForm(exchange, params);
            text = first(params, "update");
        } else {
            throw new Failure(415, "an update is a POST of application/sparql-update or of a form");
        }
        if (text == null) throw new Failure(400, "no update= parameter");
        UpdateRequest request = UpdateFactory.create(text);
        Txn.executeWrite(store, () -> UpdateAction.execute(request, store));
        answer(exchange, 204, "");
    }

    private static void graphStore(HttpExchange exchange, Map<String, List<String>> params) throws IOException {
        String method = exchange.getRequestMethod();
        String iri = first(params, "graph");
        if ((iri == null) == !params.containsKey("default"))
            throw new Failure(400, "name one graph: ?graph=IRI or ?default");
        Node graph = iri == null ? org.apache.jena.sparql.core.Quad.defaultGraphNodeGenerated : NodeFactory.createURI(iri);
        switch (method) {
            case "GET":
            case "HEAD": {
                String type = negotiate(exchange, GRAPH_TYPES);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                boolean[] found = {true};
                Txn.executeRead(store, () -> {
                    Graph g = iri == null ? store.getDefaultGraph() : store.getGraph(graph);
                    if (iri != null && !store.find(graph, Node.ANY, Node.ANY, Node.ANY).hasNext()) {
                        found[0] = false;
                        return;
                    }
                    Lang lang = graphLang(type);
                    RDFDataMgr.write(out, g, lang == Lang.NQUADS || lang == Lang.TRIG ? Lang.NTRIPLES : lang);
                });
                if (!found[0]) throw new Failure(404, "No such graph: <" + iri + ">");
                exchange.getResponseHeaders().set("Content-Type", type);
                boolean head = method.equals("HEAD");
                exchange.sendResponseHeaders(200, head || out.size() == 0 ? -1 : out.size());
                if (!head) out.writeTo(exchange.getResponseBody());
                return;
            }
            case "PUT":
            case "POST": {
                authorise(exchange);
                Lang lang = graphLang(mediaType(exchange));
                if (lang == null) throw new Failure(415, "Unsupported Media Type: " + mediaType(exchange));
                Graph parsed = GraphFactory.createDefaultGraph();
                try (InputStream body = exchange.getRequestBody()) {
                    RDFParser.create().source(body).lang(lang).parse(parsed); // whole before anything changes
                }
                boolean[] existed = {false};
                Txn.executeWrite(store, () -> {
                    existed[0] = store.find(graph, Node.ANY, Node.ANY, Node.ANY).hasNext();
                    if (method.equals("PUT")) store.deleteAny(graph, Node.ANY, Node.ANY, Node.ANY);
                    parsed.find().forEachRemaining(t -> store.add(graph, t.getSubject(), t.getPredicate(), t.getObject()));
                });
                answer(exchange, existed[0] ? 204 : 201, "");
                return;
            }
            case "DELETE": {
                authorise(exchange);
                boolean[] existed = {false};
                Txn.executeWrite(store, () -> {
                    existed[0] = store.find(graph, Node.ANY, Node.ANY, Node.ANY).hasNext();
                    store.deleteAny(graph, Node.ANY, Node.ANY, Node.ANY);
                });
                if (!existed[0] && iri != null) throw new Failure(404, "No such graph: <" + iri + ">");
                answer(exchange, 204, "");
                return;
            }
            default:
                throw new Failure(405, "Method Not Allowed: " + method);
        }
    }
}
